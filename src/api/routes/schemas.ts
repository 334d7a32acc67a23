/** Response schemas shared by several route files. */
import { z } from '@hono/zod-openapi';

export const UserSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    name: z.string(),
    staffRole: z.enum(['support', 'ops']).nullable(),
    emailVerified: z.boolean().openapi({ description: 'Whether the address is confirmed; checkout and invitations wait for it' }),
    createdAt: z.string(),
  })
  .openapi('User');

// Sign-in and confirming the address (which signs in) answer the same: who is signed in, and the session.
export const SessionResponse = z.object({ user: UserSchema, token: z.string(), expiresAt: z.string() }).openapi('SessionResponse');

/** The API's view of a user (never the hash, never the raw timestamps). */
export const presentUser = (u: {
  id: string;
  email: string;
  name: string;
  staffRole: 'support' | 'ops' | null;
  emailVerifiedAt: Date | null;
  createdAt: Date;
}) => ({
  id: u.id,
  email: u.email,
  name: u.name,
  staffRole: u.staffRole,
  emailVerified: u.emailVerifiedAt !== null,
  createdAt: u.createdAt.toISOString(),
});

export const RoleSchema = z.enum(['owner', 'admin', 'member']);

export const WorkspaceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: RoleSchema.nullable(),
    createdAt: z.string(),
    erasureScheduledFor: z
      .string()
      .nullable()
      .optional()
      .openapi({ description: 'When the workspace will be erased, if an owner asked (any owner may cancel until then)' }),
  })
  .openapi('Workspace');

export const iso = (d: Date | null) => (d ? d.toISOString() : null);
