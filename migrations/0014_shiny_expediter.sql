ALTER TABLE "servers" ADD COLUMN "tls_next_spki_sha256" text;--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "tls_next_tlsa_at" timestamp with time zone;