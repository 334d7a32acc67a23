-- /etc/dovecot/mailplane-auth-used.lua, rendered by mailplane: runs after a successful
-- authentication (skip = unauthenticated). When an app password did it, its time, client
-- address and service go to one small file per app password, which the control plane reads
-- (mailbox-usage.sh). Nothing secret is written: the id is the control plane's row id.
local DIR = "/var/lib/mailplane-guard/app-password-use/"

function auth_passdb_lookup(req)
  local id = req:var_expand("%{passdb:mailplane_app}")
  if id ~= nil and string.match(id, "^[0-9a-f][0-9a-f-]+$") then
    local ip = tostring(req.remote_ip or "")
    if not string.match(ip, "^[0-9a-fA-F.:]*$") then ip = "" end
    local f = io.open(DIR .. id .. ".tmp", "w")
    if f ~= nil then
      f:write(string.format("%d %s %s\n", os.time(), ip, tostring(req.service)))
      f:close()
      os.rename(DIR .. id .. ".tmp", DIR .. id)
    end
  end
  -- Authentication already succeeded; this passdb only records it.
  return dovecot.auth.PASSDB_RESULT_OK, "nopassword=y"
end
