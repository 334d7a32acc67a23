CREATE TABLE "server_schedules" (
	"server_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"next_at" timestamp with time zone NOT NULL,
	CONSTRAINT "server_schedules_server_id_kind_pk" PRIMARY KEY("server_id","kind")
);
--> statement-breakpoint
ALTER TABLE "server_schedules" ADD CONSTRAINT "server_schedules_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "server_schedules_due_idx" ON "server_schedules" USING btree ("kind","next_at");