CREATE TABLE "mail_images" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"zone" text NOT NULL,
	"package_digest" text NOT NULL,
	"status" text DEFAULT 'baking' NOT NULL,
	"phase" text DEFAULT 'instance' NOT NULL,
	"reason" text NOT NULL,
	"provider_server_id" text,
	"snapshot_id" text,
	"image_id" text,
	"attempts" integer DEFAULT 0 NOT NULL,
	"error" text,
	"log" text DEFAULT '' NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"finished_at" timestamp with time zone
);
--> statement-breakpoint
CREATE INDEX "mail_images_zone_idx" ON "mail_images" USING btree ("zone","status","created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "mail_images_one_bake_per_zone" ON "mail_images" USING btree ("zone") WHERE "mail_images"."status" = 'baking';