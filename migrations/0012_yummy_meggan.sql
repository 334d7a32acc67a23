CREATE TABLE "customer_dns_records" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"server_id" uuid NOT NULL,
	"source" text NOT NULL,
	"type" text NOT NULL,
	"name" text NOT NULL,
	"content" text NOT NULL,
	"priority" integer,
	"ttl" integer DEFAULT 1 NOT NULL,
	"provider_record_id" text,
	"state" text DEFAULT 'pending' NOT NULL,
	"error" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "dnssec_key" jsonb;--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "dnssec_checked_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "dns_imported_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "servers" ADD COLUMN "spf_terms" text[] DEFAULT '{}'::text[] NOT NULL;--> statement-breakpoint
ALTER TABLE "customer_dns_records" ADD CONSTRAINT "customer_dns_records_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "customer_dns_records_server_idx" ON "customer_dns_records" USING btree ("server_id");