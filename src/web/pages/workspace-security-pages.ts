/** The Team page's "Sign-in policy" card and its form: members must use two-factor sign-in. */
import { html } from 'hono/html';
import { setTwoFactorPolicy } from '../../workspaces/two-factor-policy.ts';
import { formOf, refusal } from '../forms.ts';
import type { Html } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';

export const securityCard = (
  ws: string,
  requireTwoFactor: boolean,
  canChange: boolean,
): Html => html`<section class="card" aria-labelledby="sec-h"><h2 id="sec-h">Sign-in policy</h2>
  ${
    canChange
      ? html`<form method="post" action="/w/${ws}/security" class="stack">
    <div><input type="checkbox" id="f-require-2fa" name="requireTwoFactor" value="on" aria-describedby="f-require-2fa-hint" ${requireTwoFactor ? 'checked' : ''}>
      <label for="f-require-2fa" class="inline">Members must use two-factor sign-in</label>
      <span class="hint" id="f-require-2fa-hint">A member without it is sent to set it up before anything else.</span></div>
    <div><button type="submit" class="secondary">Save sign-in policy</button></div></form>`
      : html`<p>Two-factor sign-in is ${requireTwoFactor ? 'required' : 'not required'} for members.</p>`
  }</section>`;

export function registerWorkspaceSecurityPages(
  web: WebApp,
  deps: WebDeps,
  teamPage: (c: WebContext, error: string | null) => Response | Promise<Response>,
): void {
  web.post('/w/:ws/security', async (c) => {
    const page = await inWorkspace(deps, c, 'workspace.update');
    try {
      await setTwoFactorPolicy(deps.api.db, c.get('actor'), page.access, (await formOf(c))['requireTwoFactor'] === 'on');
      return c.redirect(`/w/${page.workspace.id}/team?notice=security_saved`, 303);
    } catch (err) {
      return teamPage(c, refusal(err));
    }
  });
}
