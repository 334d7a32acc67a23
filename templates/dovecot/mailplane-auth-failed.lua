-- /etc/dovecot/mailplane-auth-failed.lua, rendered by mailplane: runs once when every passdb
-- refused (skip = authenticated) and logs one line per failed attempt for fail2ban's
-- mailplane-auth jail, so IMAP and SMTP AUTH (and any later login service) share one budget.
-- The client address ends the line, after everything the client chose (the user name is in
-- Dovecot's prefix), so a crafted user name cannot make fail2ban ban someone else.
function auth_passdb_lookup(req)
  local ip = tostring(req.remote_ip or "")
  if not string.match(ip, "^[0-9a-fA-F.:]+$") then ip = "unknown" end
  local service = tostring(req.service or "")
  if not string.match(service, "^[a-z-]+$") then service = "unknown" end
  -- The global logger: the request's own (req:log_info) is silent unless auth_verbose = yes.
  dovecot.i_info("mailplane: authentication failed: rip=" .. ip .. " service=" .. service)
  return dovecot.auth.PASSDB_RESULT_USER_UNKNOWN, ""
end
