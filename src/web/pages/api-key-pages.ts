/** API keys: create with scopes (the key is shown once, on the answer to the POST), rotate, revoke. */
import { html } from 'hono/html';
import { API_KEY_SCOPES } from '../../auth/api-keys.ts';
import { createApiKey, listApiKeys, revokeApiKey, rotateApiKey } from '../../workspaces/api-keys.ts';
import { copyable, field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { when } from '../dates.ts';

export function registerApiKeyPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;

  const keysPage = async (c: WebContext, extra: { error?: string; created?: { name: string; key: string } } = {}) => {
    const page = await inWorkspace(deps, c, 'apikeys.read');
    const ws = page.workspace.id;
    const keys = await listApiKeys(deps.api.db, ws);
    return renderPage(c, {
      title: 'API keys',
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error: extra.error ?? null,
      notice: noticeOf(c),
      status: extra.error ? 400 : 200,
      body: html`${
        extra.created
          ? html`<div class="card" role="status"><h2>Your new key "${extra.created.name}"</h2>
          <p>Copy it now: it is shown only this once. Send it as <code>Authorization: Bearer …</code>.</p>${copyable('new-key', extra.created.key, 'the API key')}</div>`
          : ''
      }
      ${
        keys.length === 0
          ? html`<p>No API keys yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Name</th><th>Key</th><th>Scopes</th><th>Last used</th><th>Actions</th></tr></thead><tbody>
        ${keys.map(
          (
            k,
          ) => html`<tr><td data-label="Name">${k.name}</td><td data-label="Key"><code>${k.prefix}…</code></td><td data-label="Scopes">${k.scopes.join(', ')}</td>
          <td data-label="Last used">${k.lastUsedAt ? when(k.lastUsedAt) : 'never'}</td>
          <td data-label="Actions" class="actions">${
            k.revokedAt
              ? html`<span class="pill failed">revoked</span>`
              : html`
            <form method="post" action="/w/${ws}/api-keys/${k.id}/rotate" data-confirm="Replace ${k.name}? The current key stops working at once."><button type="submit" class="secondary">Rotate ${k.name}</button></form>
            <form method="post" action="/w/${ws}/api-keys/${k.id}/revoke" data-confirm="Revoke ${k.name}?"><button type="submit" class="danger">Revoke ${k.name}</button></form>`
          }</td></tr>`,
        )}
      </tbody></table></div>`
      }
      ${
        page.can('apikeys.manage')
          ? html`<h2>New key</h2><form method="post" action="/w/${ws}/api-keys" class="stack card">
        ${field({ name: 'name', label: 'Name', hint: 'Where it is used, e.g. "CI".' })}
        <fieldset><legend>Scopes</legend>${API_KEY_SCOPES.map((s) => html`<div><input type="checkbox" id="scope-${s}" name="scope_${s}" value="1" ${s === 'read' ? 'checked' : ''}> <label for="scope-${s}" class="inline">${s}${s === 'write' ? ' (create and delete mailboxes)' : ' (servers, DNS, mailboxes)'}</label></div>`)}</fieldset>
        <div><button type="submit">Create key</button></div></form>`
          : ''
      }`,
    });
  };

  web.get('/w/:ws/api-keys', (c) => keysPage(c));
  web.post('/w/:ws/api-keys', async (c) => {
    const page = await inWorkspace(deps, c, 'apikeys.manage');
    const form = await formOf(c);
    const name = (form['name'] ?? '').trim();
    const scopes = API_KEY_SCOPES.filter((s) => form[`scope_${s}`]);
    if (!name || name.length > 100) return keysPage(c, { error: 'Give the key a name (up to 100 characters).' });
    if (scopes.length === 0) return keysPage(c, { error: 'Choose at least one scope.' });
    try {
      const { apiKey, key } = await createApiKey(deps.api.db, c.get('actor'), page.access, { name, scopes });
      return keysPage(c, { created: { name: apiKey.name, key } });
    } catch (err) {
      return keysPage(c, { error: refusal(err) });
    }
  });
  web.post('/w/:ws/api-keys/:id/rotate', async (c) => {
    const page = await inWorkspace(deps, c, 'apikeys.manage');
    try {
      const { apiKey, key } = await rotateApiKey(deps.api.db, c.get('actor'), page.access, c.req.param('id'));
      return keysPage(c, { created: { name: apiKey.name, key } });
    } catch (err) {
      return keysPage(c, { error: refusal(err) });
    }
  });
  web.post('/w/:ws/api-keys/:id/revoke', async (c) => {
    const page = await inWorkspace(deps, c, 'apikeys.manage');
    try {
      await revokeApiKey(deps.api.db, c.get('actor'), page.access, c.req.param('id'));
    } catch (err) {
      return keysPage(c, { error: refusal(err) });
    }
    return c.redirect(`/w/${page.workspace.id}/api-keys?notice=key_revoked`, 303);
  });
}
