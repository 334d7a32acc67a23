/**
 * Support's key actions on a server page: the DKIM keys with "rotate now" (and the emergency
 * rotation), and the TLS key rollover with the TLSA hash served now. Support and ops alike; each
 * action starts a run, shown in the page's checklist, and is audited under the staff member's name.
 */
import { html } from 'hono/html';
import type { servers } from '../../db/schema/index.ts';
import { startDkimRotation } from '../../servers/dkim-rotation.ts';
import type { DkimKeyView } from '../../servers/dkim-view.ts';
import { startTlsRollover } from '../../servers/tls-rollover.ts';
import { findServer } from '../../servers/views.ts';
import { formOf } from '../forms.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { dkimSection } from './dkim-section.ts';

export function supportKeysSection(server: typeof servers.$inferSelect, keys: readonly DkimKeyView[]) {
  const base = `/support/servers/${server.id}`;
  return html`${dkimSection(keys, { rotate: true, action: `${base}/dkim/rotate` })}
    <section class="card" aria-labelledby="tls-h"><h2 id="tls-h">TLS key</h2>
      <p>Served key: SPKI sha256 <code>${server.tlsSpkiSha256 ?? 'none yet'}</code>${server.tlsNextSpkiSha256 ? html`; next key <code>${server.tlsNextSpkiSha256}</code> (rollover under way)` : ''}.</p>
      <form method="post" action="${base}/tls/rollover" class="stack" data-confirm="Change the TLS key? Both keys' TLSA records are published first; the key switches after their TTL.">
        <div><label for="tls-reason">Why</label><input id="tls-reason" name="reason" required minlength="3" maxlength="300"></div>
        <div><label for="tls-type">Next key</label><select id="tls-type" name="keyType"><option value="ecdsa">ECDSA P-256</option><option value="rsa">RSA-2048</option></select></div>
        <div><button type="submit" class="secondary">Roll over the TLS key</button></div></form>
    </section>`;
}

/** `refuse` renders the server page with the refusal (a conflict, bad input) instead of redirecting. */
export function registerSupportKeyActions(web: WebApp, deps: WebDeps, refuse: (c: WebContext, err: unknown) => Promise<Response>): void {
  const act = (path: string, start: (c: WebContext, serverId: string, form: Record<string, string>) => Promise<unknown>, notice: string) => {
    web.post(path, async (c) => {
      const server = await findServer(deps.api.db, c.req.param('id') ?? '');
      try {
        await start(c, server.id, await formOf(c));
      } catch (err) {
        return refuse(c, err);
      }
      return c.redirect(`/support/servers/${server.id}?notice=${notice}`, 303);
    });
  };
  act(
    '/support/servers/:id/dkim/rotate',
    (c, serverId, form) =>
      startDkimRotation(deps.p, c.get('actor'), {
        serverId,
        reason: (form['reason'] ?? '').trim() || 'rotated by support',
        emergency: form['emergency'] === '1',
      }),
    'dkim_rotation',
  );
  act(
    '/support/servers/:id/tls/rollover',
    (c, serverId, form) =>
      startTlsRollover(deps.p, c.get('actor'), {
        serverId,
        reason: (form['reason'] ?? '').trim() || 'rolled over by support',
        keyType: form['keyType'] === 'rsa' ? 'rsa' : 'ecdsa',
      }),
    'tls_rollover',
  );
}
