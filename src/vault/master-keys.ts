/**
 * Master keys for the vault, from VAULT_MASTER_KEYS ("k2:base64,k1:base64",
 * first is active). They never live in the database; only their ids do.
 */
export interface MasterKeyRing {
  activeId: string;
  keys: Map<string, Buffer>;
}

export function parseMasterKeys(spec: string): MasterKeyRing {
  const keys = new Map<string, Buffer>();
  let activeId: string | null = null;
  for (const part of spec
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const idx = part.indexOf(':');
    if (idx <= 0) throw new Error('VAULT_MASTER_KEYS: each entry is "<id>:<base64 32-byte key>"');
    const id = part.slice(0, idx);
    if (!/^[A-Za-z0-9_-]{1,32}$/.test(id)) throw new Error(`VAULT_MASTER_KEYS: bad key id "${id}"`);
    const key = Buffer.from(part.slice(idx + 1), 'base64');
    if (key.length !== 32) throw new Error(`VAULT_MASTER_KEYS: key "${id}" must be 32 bytes (base64 of 32 random bytes)`);
    if (keys.has(id)) throw new Error(`VAULT_MASTER_KEYS: duplicate key id "${id}"`);
    keys.set(id, key);
    activeId ??= id;
  }
  if (!activeId) throw new Error('VAULT_MASTER_KEYS: no key given');
  return { activeId, keys };
}
