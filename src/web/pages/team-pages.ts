/**
 * Team: members with roles, invitations sent by email, removal; and the
 * invitee's accept page. Buttons appear only where the permission table and
 * canManageMember allow them; the services check again whatever the page shows.
 */
import { html } from 'hono/html';
import { canGrantRole, canManageMember, roleWithArticle } from '../../auth/permissions.ts';
import { WORKSPACE_ROLES, type WorkspaceRole } from '../../db/schema/index.ts';
import { mailInvitation } from '../../workspaces/invitation-mail.ts';
import { Email } from '../../api/openapi.ts';
import { acceptInvitation, createInvitation, describeInvitation, listInvitations, revokeInvitation } from '../../workspaces/invitations.ts';
import { changeMemberRole, listMembers, removeMember } from '../../workspaces/workspaces.ts';
import { field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { when } from '../dates.ts';
import { twoFactorPolicy } from '../../workspaces/two-factor-policy.ts';
import { registerWorkspaceSecurityPages, securityCard } from './workspace-security-pages.ts';

const isRole = (v: string | undefined): v is WorkspaceRole => (WORKSPACE_ROLES as readonly string[]).includes(v ?? '');

export function registerTeamPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;

  const teamPage = async (c: WebContext, error: string | null = null) => {
    const page = await inWorkspace(deps, c, 'members.read');
    const ws = page.workspace.id;
    const me = c.get('user');
    const role = page.access.role!;
    const members = await listMembers(deps.api.db, ws);
    const manage = page.can('members.manage');
    const invitations = page.can('invitations.read') ? await listInvitations(deps.api.db, ws) : [];
    const pending = invitations.filter((i) => !i.usedAt && !i.revokedAt && i.expiresAt.getTime() > Date.now());
    const grantable = WORKSPACE_ROLES.filter((r) => canGrantRole(role, r));
    const { requireTwoFactor } = await twoFactorPolicy(deps.api.db, page.access);
    return renderPage(c, {
      title: 'Team',
      user: me,
      workspace: page.workspace,
      sandboxMail,
      error,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      body: html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Name</th><th>Email</th><th>Role</th><th>Actions</th></tr></thead><tbody>
      ${members.map((m) => {
        const editable = manage && m.userId !== me.id && canManageMember(role, m.role);
        return html`<tr><td data-label="Name">${m.name}${m.userId === me.id ? ' (you)' : ''}</td><td data-label="Email">${m.email}</td><td data-label="Role">${m.role}</td>
        <td data-label="Actions" class="actions">${
          editable
            ? html`
          <form method="post" action="/w/${ws}/members/${m.userId}/role" class="row"><label for="role-${m.userId}" class="skip">Role of ${m.email}</label>
            <select id="role-${m.userId}" name="role">${grantable.map((r) => html`<option value="${r}" ${r === m.role ? 'selected' : ''}>${r}</option>`)}</select>
            <button type="submit" class="secondary">Change role</button></form>
          <form method="post" action="/w/${ws}/members/${m.userId}/remove" data-confirm="Remove ${m.email} from ${page.workspace.name}?"><button type="submit" class="danger">Remove ${m.name}</button></form>`
            : m.userId === me.id && role !== 'owner'
              ? html`
          <form method="post" action="/w/${ws}/members/${m.userId}/remove" data-confirm="Leave ${page.workspace.name}?"><button type="submit" class="secondary">Leave workspace</button></form>`
              : ''
        }</td></tr>`;
      })}</tbody></table></div>
      ${
        page.can('invitations.manage')
          ? html`<h2>Invite someone</h2>
        <form method="post" action="/w/${ws}/invitations" class="stack card">
          ${field({ name: 'email', label: 'Email', type: 'email', autocomplete: 'off' })}
          <div><label for="f-role">Role</label><select id="f-role" name="role">${grantable.map((r) => html`<option value="${r}" ${r === 'member' ? 'selected' : ''}>${r}</option>`)}</select></div>
          <div><button type="submit">Send invitation</button></div></form>
        <h2>Pending invitations</h2>
        ${
          pending.length === 0
            ? html`<p>None.</p>`
            : html`<ul class="card">${pending.map(
                (i) => html`<li>${i.email} as ${i.role}, expires ${when(i.expiresAt)}
          <form method="post" action="/w/${ws}/invitations/${i.id}/revoke" class="inline"><button type="submit" class="link">Revoke invitation to ${i.email}</button></form></li>`,
              )}</ul>`
        }`
          : ''
      }
      ${securityCard(ws, requireTwoFactor, page.can('workspace.update'))}`,
    });
  };

  web.get('/w/:ws/team', (c) => teamPage(c));
  registerWorkspaceSecurityPages(web, deps, teamPage);

  web.post('/w/:ws/invitations', async (c) => {
    const page = await inWorkspace(deps, c, 'invitations.manage');
    const form = await formOf(c);
    const email = Email.safeParse(form['email'] ?? '');
    if (!email.success) return teamPage(c, 'Enter a valid email address to invite.');
    if (!isRole(form['role'])) return teamPage(c, 'Choose a role.');
    try {
      const { invitation, token } = await createInvitation(deps.invitations, c.get('actor'), page.access, { email: email.data, role: form['role'] });
      await mailInvitation({ db: deps.api.db, mailer: deps.mailer, log: deps.api.log, publicUrl: deps.api.config.http.publicUrl }, invitation, token);
    } catch (err) {
      return teamPage(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}/team?notice=invited`, 303);
  });

  web.post('/w/:ws/invitations/:id/revoke', async (c) => {
    const page = await inWorkspace(deps, c, 'invitations.manage');
    try {
      await revokeInvitation(deps.api.db, c.get('actor'), page.access, c.req.param('id'));
    } catch (err) {
      return teamPage(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}/team?notice=invitation_revoked`, 303);
  });

  web.post('/w/:ws/members/:uid/role', async (c) => {
    const page = await inWorkspace(deps, c, 'members.manage');
    const role = (await formOf(c))['role'];
    if (!isRole(role)) return teamPage(c, 'Choose a role.');
    try {
      await changeMemberRole(deps.api.db, c.get('actor'), page.access, c.req.param('uid'), role);
    } catch (err) {
      return teamPage(c, refusal(err));
    }
    return c.redirect(`/w/${page.workspace.id}/team?notice=member_changed`, 303);
  });

  web.post('/w/:ws/members/:uid/remove', async (c) => {
    const leaving = c.req.param('uid') === c.get('user').id;
    const page = await inWorkspace(deps, c, leaving ? 'members.read' : 'members.manage');
    try {
      await removeMember(deps.api.db, c.get('actor'), page.access, c.req.param('uid'));
    } catch (err) {
      return teamPage(c, refusal(err));
    }
    return c.redirect(leaving ? '/workspaces' : `/w/${page.workspace.id}/team?notice=member_removed`, 303);
  });

  web.get('/invitations/accept', async (c) => {
    const user = c.get('user');
    const token = c.req.query('token') ?? '';
    let invitation: Awaited<ReturnType<typeof describeInvitation>>;
    try {
      invitation = await describeInvitation(deps.invitations, { email: user.email }, token);
    } catch (err) {
      return renderPage(c, {
        title: 'Join a workspace',
        user,
        sandboxMail,
        error: refusal(err),
        status: 400,
        body: html`<p>Ask the person who invited you for a new invitation.</p>`,
      });
    }
    const by = invitation.invitedBy;
    return renderPage(c, {
      title: `Join ${invitation.workspace}`,
      user,
      sandboxMail,
      body: html`<form method="post" action="/invitations/accept" class="stack card"><input type="hidden" name="token" value="${token}">
        <p>${by ? html`<strong>${by.name}</strong> (${by.email})` : 'A former member'} invited you to the workspace <strong>${invitation.workspace}</strong> as ${roleWithArticle(invitation.role)}.</p>
        <p class="hint">You are signed in as ${user.email}. The invitation expires ${when(invitation.expiresAt)}.</p>
        <div><button type="submit">Join ${invitation.workspace}</button></div></form>`,
    });
  });
  web.post('/invitations/accept', async (c) => {
    const user = c.get('user');
    try {
      const { workspace } = await acceptInvitation(deps.invitations, c.get('actor'), { userId: user.id, email: user.email }, (await formOf(c))['token'] ?? '');
      return c.redirect(`/w/${workspace.id}?notice=joined`, 303);
    } catch (err) {
      return renderPage(c, {
        title: 'Join a workspace',
        user,
        sandboxMail,
        error: refusal(err),
        status: 400,
        body: html`<p>Ask the person who invited you for a new invitation.</p>`,
      });
    }
  });
}
