CREATE INDEX "servers_live_ipv4_idx" ON "servers" USING btree ("ipv4") WHERE status <> 'deleted';--> statement-breakpoint
CREATE INDEX "servers_live_ipv6_idx" ON "servers" USING btree ("ipv6") WHERE status <> 'deleted';--> statement-breakpoint
CREATE INDEX "servers_live_hostname_idx" ON "servers" USING btree ("hostname") WHERE status <> 'deleted';