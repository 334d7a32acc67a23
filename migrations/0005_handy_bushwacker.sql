CREATE TABLE "server_notices" (
	"server_id" uuid NOT NULL,
	"kind" text NOT NULL,
	"sent_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "server_notices_server_id_kind_pk" PRIMARY KEY("server_id","kind")
);
--> statement-breakpoint
ALTER TABLE "server_notices" ADD CONSTRAINT "server_notices_server_id_servers_id_fk" FOREIGN KEY ("server_id") REFERENCES "public"."servers"("id") ON DELETE cascade ON UPDATE no action;