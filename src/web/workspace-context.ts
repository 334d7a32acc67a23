/** Every /w/:ws page starts here: the API's own workspace check, then what the role may do. */
import type { Context } from 'hono';
import { roleAllows, type Action } from '../auth/permissions.ts';
import { authorizeWorkspace, type WorkspaceAccess } from '../workspaces/access.ts';
import { getWorkspace } from '../workspaces/workspaces.ts';
import type { WebDeps, WebEnv } from './web-env.ts';

export interface WorkspacePage {
  access: WorkspaceAccess;
  workspace: { id: string; name: string; role: 'owner' | 'admin' | 'member' | null };
  /** Whether the caller's role allows an action: pages hide what the API would refuse. */
  can(action: Action): boolean;
}

export async function inWorkspace(deps: WebDeps, c: Context<WebEnv>, action: Action): Promise<WorkspacePage> {
  const access = await authorizeWorkspace(deps.api.db, c.get('principal'), c.req.param('ws') ?? '', action);
  const ws = await getWorkspace(deps.api.db, access);
  return {
    access,
    workspace: { id: ws.id, name: ws.name, role: access.role },
    can: (a) => access.role !== null && roleAllows(access.role, a),
  };
}
