/**
 * The permission table: every workspace route names one action, and this table
 * says which roles may do it and which API-key scope it needs. `scope: null`
 * means API keys can never do it (managing people and credentials needs a person).
 */
import type { WorkspaceRole } from '../db/schema/accounts.ts';

export type ApiScope = 'read' | 'write';

interface Rule {
  roles: readonly WorkspaceRole[];
  scope: ApiScope | null;
}

const ALL = ['owner', 'admin', 'member'] as const;
const MANAGERS = ['owner', 'admin'] as const;
const OWNER = ['owner'] as const;

export const PERMISSIONS = {
  'workspace.read': { roles: ALL, scope: 'read' },
  'workspace.update': { roles: MANAGERS, scope: null },
  'workspace.delete': { roles: OWNER, scope: null },
  'members.read': { roles: ALL, scope: 'read' },
  'members.manage': { roles: MANAGERS, scope: null },
  'invitations.read': { roles: MANAGERS, scope: null },
  'invitations.manage': { roles: MANAGERS, scope: null },
  'apikeys.read': { roles: MANAGERS, scope: null },
  'apikeys.manage': { roles: MANAGERS, scope: null },
  'audit.read': { roles: MANAGERS, scope: null },
  'servers.read': { roles: ALL, scope: 'read' },
  'servers.checkout': { roles: MANAGERS, scope: null },
  'servers.recheck': { roles: MANAGERS, scope: 'write' },
  // Replaces the machine: people only, never an API key.
  'servers.rebuild': { roles: MANAGERS, scope: null },
  // A new DKIM key now (or an emergency one that revokes the old key at once): nothing is lost, a write key may.
  'servers.rotate_dkim': { roles: MANAGERS, scope: 'write' },
  // When mailplane may restart services or reboot (rollouts, updates): a change, like mailboxes.
  'servers.maintenance': { roles: MANAGERS, scope: 'write' },
  // Plan, status and invoices, and the Stripe portal (card, invoices, cancel): people who manage the workspace.
  'billing.read': { roles: MANAGERS, scope: null },
  'billing.manage': { roles: MANAGERS, scope: null },
  // Ending a server's subscription (or undoing that) and changing what the workspace pays: the owners, people only.
  'billing.cancel': { roles: OWNER, scope: null },
  'billing.change_plan': { roles: OWNER, scope: null },
  // Starting probes costs work against a live server (and, repeated, looks like a scan): a change, not a read.
  'servers.checks.run': { roles: MANAGERS, scope: 'write' },
  'mailboxes.read': { roles: ALL, scope: 'read' },
  'mailboxes.manage': { roles: MANAGERS, scope: 'write' },
  'mailboxes.exportPassword': { roles: MANAGERS, scope: null },
  'mailboxes.webmail': { roles: ALL, scope: null },
  // Credentials of one mailbox (app passwords, the main password for mail clients): owners, admins
  // and the member the mailbox is assigned to (checked per mailbox); a person, never an API key.
  'mailboxes.credentials': { roles: ALL, scope: null },
  // The domain's junk score: a change to how the server files mail, like mailboxes.
  'mailboxes.spamSettings': { roles: MANAGERS, scope: 'write' },
  'backups.read': { roles: ALL, scope: 'read' },
  'backups.run': { roles: MANAGERS, scope: 'write' },
  'backups.restore': { roles: MANAGERS, scope: 'write' },
  // A copy of a whole mailbox leaves the product: a person who manages the workspace, never a key.
  'backups.download': { roles: MANAGERS, scope: null },
  /** The customer's own records in their zone and their SPF senders. */
  'dns.manage': { roles: MANAGERS, scope: 'write' },
} as const satisfies Record<string, Rule>;

export type Action = keyof typeof PERMISSIONS;

export function roleAllows(role: WorkspaceRole, action: Action): boolean {
  return (PERMISSIONS[action].roles as readonly WorkspaceRole[]).includes(role);
}

export function scopesAllow(scopes: readonly string[], action: Action): boolean {
  const needed = PERMISSIONS[action].scope as ApiScope | null;
  if (needed === null) return false;
  // write implies read
  return scopes.includes(needed) || (needed === 'read' && scopes.includes('write'));
}

const RANK: Record<WorkspaceRole, number> = { owner: 3, admin: 2, member: 1 };

/** An admin may grant admin or member; only an owner may grant owner. */
export function canGrantRole(actor: WorkspaceRole, target: WorkspaceRole): boolean {
  return RANK[actor] >= RANK[target] && (target !== 'owner' || actor === 'owner');
}

/** An admin may not change or remove an owner. */
export function canManageMember(actor: WorkspaceRole, member: WorkspaceRole): boolean {
  return actor === 'owner' || (actor === 'admin' && member !== 'owner');
}

/** "an admin", "a member" (capitalised at the start of a sentence): roles named in messages people read. */
export function roleWithArticle(role: string, capitalised = false): string {
  const article = /^[aeiou]/i.test(role) ? 'an' : 'a';
  return `${capitalised ? article[0]!.toUpperCase() + article.slice(1) : article} ${role}`;
}
