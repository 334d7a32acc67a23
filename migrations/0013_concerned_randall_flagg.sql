ALTER TABLE "dkim_keys" ADD COLUMN "ed25519_selector" text;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "ed25519_public_key" text;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "ed25519_private_key_secret_id" uuid;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "provider_record_ids" jsonb DEFAULT '{}'::jsonb NOT NULL;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "confirmed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "activated_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "retired_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "revoked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "deleted_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "dkim_keys" ADD COLUMN "next_transition_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "tls_next_spki_sha256" text;--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "tls_next_tlsa_at" timestamp with time zone;--> statement-breakpoint
CREATE INDEX "dkim_keys_next_transition_idx" ON "dkim_keys" USING btree ("next_transition_at") WHERE next_transition_at is not null;