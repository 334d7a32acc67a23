-- Per-process read caches (src/api/read-cache.ts) stay true by listening on channel
-- `mailplane_cache`: every write to a table an answer is built from says so here, in the
-- writer's transaction, so it reaches every process when (and only if) it commits, whoever
-- wrote it (the API, a worker, the CLI, an operator's psql). PostgreSQL folds identical
-- payloads of one transaction into one notification.
CREATE OR REPLACE FUNCTION mailplane_cache_auth_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mailplane_cache', 'auth');
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION mailplane_cache_server_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mailplane_cache', 'server:' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END)::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION mailplane_cache_server_part_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mailplane_cache', 'server:' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.server_id ELSE NEW.server_id END)::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE OR REPLACE FUNCTION mailplane_cache_run_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('mailplane_cache', 'run:' || (CASE WHEN TG_OP = 'DELETE' THEN OLD.run_id ELSE NEW.run_id END)::text);
  RETURN NULL;
END $$;
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_sessions AFTER INSERT OR UPDATE OR DELETE ON sessions FOR EACH ROW EXECUTE FUNCTION mailplane_cache_auth_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_users AFTER INSERT OR UPDATE OR DELETE ON users FOR EACH ROW EXECUTE FUNCTION mailplane_cache_auth_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_memberships AFTER INSERT OR UPDATE OR DELETE ON memberships FOR EACH ROW EXECUTE FUNCTION mailplane_cache_auth_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_workspaces AFTER INSERT OR UPDATE OR DELETE ON workspaces FOR EACH ROW EXECUTE FUNCTION mailplane_cache_auth_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_totp AFTER INSERT OR UPDATE OR DELETE ON totp_credentials FOR EACH ROW EXECUTE FUNCTION mailplane_cache_auth_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_passkeys AFTER INSERT OR UPDATE OR DELETE ON passkeys FOR EACH ROW EXECUTE FUNCTION mailplane_cache_auth_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_servers AFTER INSERT OR UPDATE OR DELETE ON servers FOR EACH ROW EXECUTE FUNCTION mailplane_cache_server_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_server_ips AFTER INSERT OR UPDATE OR DELETE ON server_ips FOR EACH ROW EXECUTE FUNCTION mailplane_cache_server_part_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_runs AFTER INSERT OR UPDATE OR DELETE ON provisioning_runs FOR EACH ROW EXECUTE FUNCTION mailplane_cache_server_part_changed();
--> statement-breakpoint
CREATE TRIGGER mailplane_cache_steps AFTER INSERT OR UPDATE OR DELETE ON provisioning_steps FOR EACH ROW EXECUTE FUNCTION mailplane_cache_run_changed();
