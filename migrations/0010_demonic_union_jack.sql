CREATE TABLE "backup_restores" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"server_id" uuid NOT NULL,
	"mailbox_id" uuid,
	"address" text NOT NULL,
	"backup_run_id" uuid,
	"restic_snapshot_id" text NOT NULL,
	"folder" text,
	"target_folder" text NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"restored_messages" integer,
	"simulated" boolean DEFAULT false NOT NULL,
	"error" text,
	"requested_by" text NOT NULL,
	"requested_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
ALTER TABLE "backup_restores" ADD CONSTRAINT "backup_restores_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backup_restores" ADD CONSTRAINT "backup_restores_backup_run_id_backup_runs_id_fk" FOREIGN KEY ("backup_run_id") REFERENCES "public"."backup_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backup_restores_server_idx" ON "backup_restores" USING btree ("server_id","requested_at");