CREATE TABLE "mailbox_downloads" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"server_id" uuid NOT NULL,
	"mailbox_id" uuid,
	"address" text NOT NULL,
	"backup_run_id" uuid,
	"restic_snapshot_id" text NOT NULL,
	"snapshot_path" text NOT NULL,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"expires_at" timestamp with time zone NOT NULL,
	"used_at" timestamp with time zone,
	"finished_at" timestamp with time zone,
	"bytes" bigint,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "mailbox_downloads" ADD CONSTRAINT "mailbox_downloads_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "mailbox_downloads" ADD CONSTRAINT "mailbox_downloads_backup_run_id_backup_runs_id_fk" FOREIGN KEY ("backup_run_id") REFERENCES "public"."backup_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "mailbox_downloads_server_idx" ON "mailbox_downloads" USING btree ("server_id","requested_at");