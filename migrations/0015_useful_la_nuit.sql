CREATE TABLE "rollout_servers" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"rollout_id" uuid NOT NULL,
	"server_id" uuid NOT NULL,
	"wave" integer NOT NULL,
	"status" text DEFAULT 'pending' NOT NULL,
	"from_version" text,
	"run_id" uuid,
	"rollback_run_id" uuid,
	"failed_check" text,
	"error" text,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "rollouts" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"target_version" text NOT NULL,
	"status" text DEFAULT 'running' NOT NULL,
	"halt_reason" text,
	"halted_server_id" uuid,
	"started_by" text NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "server_stacks" (
	"server_id" uuid PRIMARY KEY NOT NULL,
	"version" text,
	"release" text,
	"applied_at" timestamp with time zone,
	"files" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"packages" jsonb DEFAULT '{}'::jsonb NOT NULL,
	"previous_version" text,
	"observed" jsonb,
	"observed_at" timestamp with time zone,
	"next_drift_check_at" timestamp with time zone DEFAULT now() NOT NULL,
	"maintenance_window" jsonb,
	"last_reboot_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "stack_versions" (
	"id" text PRIMARY KEY NOT NULL,
	"release" text NOT NULL,
	"manifest" jsonb NOT NULL,
	"templates" jsonb NOT NULL,
	"packages" text[] NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "workspace_maintenance" (
	"workspace_id" uuid PRIMARY KEY NOT NULL,
	"window" jsonb NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "rollout_servers" ADD CONSTRAINT "rollout_servers_rollout_id_rollouts_id_fk" FOREIGN KEY ("rollout_id") REFERENCES "public"."rollouts"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "rollout_servers" ADD CONSTRAINT "rollout_servers_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "server_stacks" ADD CONSTRAINT "server_stacks_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "workspace_maintenance" ADD CONSTRAINT "workspace_maintenance_workspace_id_workspaces_id_fk" FOREIGN KEY ("workspace_id") REFERENCES "public"."workspaces"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "rollout_servers_key" ON "rollout_servers" USING btree ("rollout_id","server_id");--> statement-breakpoint
CREATE INDEX "rollout_servers_run_idx" ON "rollout_servers" USING btree ("run_id");--> statement-breakpoint
CREATE INDEX "rollouts_status_idx" ON "rollouts" USING btree ("status");--> statement-breakpoint
CREATE INDEX "server_stacks_next_drift_idx" ON "server_stacks" USING btree ("next_drift_check_at");--> statement-breakpoint
CREATE INDEX "server_stacks_version_idx" ON "server_stacks" USING btree ("version");