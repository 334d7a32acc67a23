CREATE TABLE "metric_offsets" (
	"metric" text NOT NULL,
	"labels" text NOT NULL,
	"value" double precision DEFAULT 0 NOT NULL,
	CONSTRAINT "metric_offsets_metric_labels_pk" PRIMARY KEY("metric","labels")
);
