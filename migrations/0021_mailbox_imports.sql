CREATE TABLE "mailbox_imports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"server_id" uuid NOT NULL,
	"mailbox_id" uuid NOT NULL,
	"address" text NOT NULL,
	"source_host" text NOT NULL,
	"source_address" text NOT NULL,
	"source_port" integer NOT NULL,
	"source_security" text NOT NULL,
	"source_user" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"progress" text,
	"folders" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"messages_copied" integer,
	"sync_state" text,
	"simulated" boolean DEFAULT false NOT NULL,
	"error" text,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp with time zone,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "mailbox_imports" ADD CONSTRAINT "mailbox_imports_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_imports" ADD CONSTRAINT "mailbox_imports_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mailbox_imports_mailbox_idx" ON "mailbox_imports" USING btree ("mailbox_id","requested_at");