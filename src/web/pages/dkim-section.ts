/** The DKIM keys on the DNS page: every generation, its state and records, what happens next; "rotate now" for managers. */
import { html } from 'hono/html';
import type { DkimKeyView } from '../../servers/dkim-view.ts';

const when = (iso: string | null) => (iso ? iso.replace('T', ' ').slice(0, 16) + ' UTC' : '');
const NEXT_LABEL: Record<string, string> = { rotate: 'rotated', revoke: 'revoked', delete: 'deleted' };

export function dkimSection(keys: readonly DkimKeyView[], opts: { rotate: boolean; action: string }) {
  return html`<section class="card" aria-labelledby="dkim-h"><h2 id="dkim-h">DKIM keys</h2>
    <p>Outgoing mail is signed with a new key every few months (a new dated selector, published and found by public resolvers before it signs); the previous key stays published a week for mail in flight, then is revoked and its record deleted.</p>
    ${
      keys.length === 0
        ? html`<p>No DKIM key yet.</p>`
        : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Selectors</th><th>State</th><th>Records</th><th>Next</th></tr></thead><tbody>
      ${keys.map(
        (
          k,
        ) => html`<tr><td data-label="Selectors"><code>${k.selector}</code>${k.ed25519Selector ? html` <code>${k.ed25519Selector}</code> <span class="hint">(Ed25519)</span>` : ''}<div class="hint">created ${when(k.createdAt)}</div></td>
        <td data-label="State"><span class="pill ${k.state}">${k.state}</span><div class="hint">${k.explanation}</div>
          ${k.activatedAt ? html`<div class="hint">signing since ${when(k.activatedAt)}</div>` : ''}${k.retiredAt ? html`<div class="hint">stopped signing ${when(k.retiredAt)}</div>` : ''}
          ${k.revokedAt ? html`<div class="hint">revoked ${when(k.revokedAt)}</div>` : ''}${k.deletedAt ? html`<div class="hint">deleted ${when(k.deletedAt)}</div>` : ''}</td>
        <td data-label="Records">${k.records.map((r) => html`<div><code>${r.name}</code>${r.content !== null ? html` <code class="wrap">${r.content.length > 60 ? `${r.content.slice(0, 60)}…` : r.content}</code>` : ''}</div>`)}</td>
        <td data-label="Next">${k.next ? html`${NEXT_LABEL[k.next.transition] ?? k.next.transition} ${when(k.next.at)}` : html`<span class="hint">—</span>`}</td></tr>`,
      )}
    </tbody></table></div>`
    }
    ${
      opts.rotate
        ? html`<form method="post" action="${opts.action}" class="stack" data-confirm="Rotate the DKIM keys now?">
      <div><label for="dkim-reason">Why</label><input id="dkim-reason" name="reason" minlength="3" maxlength="300" required placeholder="routine rotation"></div>
      <div><label><input type="checkbox" name="emergency" value="1"> The key leaked: revoke the current key at once (mail it signed stops verifying)</label></div>
      <div><button type="submit" class="secondary">Rotate DKIM keys now</button></div></form>`
        : ''
    }
  </section>`;
}
