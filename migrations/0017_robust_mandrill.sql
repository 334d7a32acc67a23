CREATE TABLE "domain_spam_settings" (
	"server_id" uuid PRIMARY KEY NOT NULL,
	"junk_score" real DEFAULT 6 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mailbox_app_passwords" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"workspace_id" uuid NOT NULL,
	"mailbox_id" uuid NOT NULL,
	"name" text NOT NULL,
	"scopes" text[] NOT NULL,
	"password_hash" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"revoked_at" timestamp with time zone,
	"last_used_at" timestamp with time zone,
	"last_used_ip" text,
	"last_used_service" text
);
--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "main_password_for_clients" boolean DEFAULT true NOT NULL;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "used_bytes" bigint;--> statement-breakpoint
ALTER TABLE "mailboxes" ADD COLUMN "usage_collected_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "domain_spam_settings" ADD CONSTRAINT "domain_spam_settings_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_app_passwords" ADD CONSTRAINT "mailbox_app_passwords_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_app_passwords" ADD CONSTRAINT "mailbox_app_passwords_mailbox_id_mailboxes_id_fk" FOREIGN KEY ("mailbox_id") REFERENCES "public"."mailboxes"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mailbox_app_passwords_mailbox_idx" ON "mailbox_app_passwords" USING btree ("mailbox_id");