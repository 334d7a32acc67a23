/** Response schemas shared by several route files. */
import { z } from '@hono/zod-openapi';

export const UserSchema = z.object({
  id: z.string(),
  email: z.string(),
  name: z.string(),
  staffRole: z.enum(['support', 'ops']).nullable(),
  createdAt: z.string(),
}).openapi('User');

export const RoleSchema = z.enum(['owner', 'admin', 'member']);

export const WorkspaceSchema = z.object({
  id: z.string(),
  name: z.string(),
  role: RoleSchema.nullable(),
  createdAt: z.string(),
}).openapi('Workspace');

export const iso = (d: Date | null) => (d ? d.toISOString() : null);
