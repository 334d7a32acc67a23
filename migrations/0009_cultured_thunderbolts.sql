CREATE TABLE "backup_drills" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"server_id" uuid NOT NULL,
	"backup_run_id" uuid,
	"restic_snapshot_id" text,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"status" text DEFAULT 'running' NOT NULL,
	"messages_compared" integer DEFAULT 0 NOT NULL,
	"details" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"error" text
);
--> statement-breakpoint
CREATE TABLE "backup_repositories" (
	"server_id" uuid PRIMARY KEY NOT NULL,
	"region" text NOT NULL,
	"bucket" text NOT NULL,
	"repository" text NOT NULL,
	"endpoint" text NOT NULL,
	"restic_password_secret_id" uuid NOT NULL,
	"server_credential_secret_id" uuid,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"credentials_revoked_at" timestamp with time zone,
	"delete_after" timestamp with time zone,
	"deleted_at" timestamp with time zone,
	"last_maintenance_at" timestamp with time zone,
	"last_check_status" text,
	"last_check_error" text
);
--> statement-breakpoint
CREATE TABLE "backup_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"server_id" uuid NOT NULL,
	"reason" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"started_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone,
	"duration_ms" integer,
	"restic_snapshot_id" text,
	"size_bytes" bigint,
	"data_added_bytes" bigint,
	"files" integer,
	"manifest" jsonb,
	"simulated" boolean DEFAULT false NOT NULL,
	"error" text
);
--> statement-breakpoint
ALTER TABLE "backup_drills" ADD CONSTRAINT "backup_drills_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backup_drills" ADD CONSTRAINT "backup_drills_backup_run_id_backup_runs_id_fk" FOREIGN KEY ("backup_run_id") REFERENCES "public"."backup_runs"("id") ON DELETE set null ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backup_repositories" ADD CONSTRAINT "backup_repositories_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "backup_runs" ADD CONSTRAINT "backup_runs_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "backup_drills_server_idx" ON "backup_drills" USING btree ("server_id","started_at");--> statement-breakpoint
CREATE INDEX "backup_runs_server_idx" ON "backup_runs" USING btree ("server_id","started_at");