/**
 * The DNS page (expected record, live answer, copy button for each; the
 * nameservers to set and the DS record; PTR v4/v6 forward-confirmed) and
 * the mail client settings with Thunderbird autoconfig and Apple profile.
 */
import { html } from 'hono/html';
import { gatherFacts } from '../../health/run-checks.ts';
import { normAnswer, ptrCheck } from '../../health/dns-checks.ts';
import { expectedAnswer } from '../../servers/dns-view.ts';
import { findServer, publishedRecords } from '../../servers/views.ts';
import { copyable } from '../forms.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';

export function registerDnsPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const { lookup } = deps.p;

  web.get('/w/:ws/servers/:id/dns', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    const server = await findServer(deps.api.db, c.req.param('id'), page.workspace.id);
    const records = await publishedRecords(deps.api.db, server.id);
    const facts = await gatherFacts({ db: deps.api.db }, server.id);
    // Live answers for every record at once: the page costs the slowest lookup, not their sum.
    const [live, ptr4, ptr6] = await Promise.all([
      Promise.all(records.map(async (r) => {
        const { type, expected } = expectedAnswer(r, server);
        if (!type) return { answers: [] as string[], matches: null as boolean | null };
        const res = await lookup.lookup(r.name, type);
        const answers = res.status === 'ok' ? res.answers : [];
        return { answers, matches: answers.some((a) => normAnswer(a) === normAnswer(expected)) };
      })),
      ptrCheck(lookup, facts, 'ipv4'), ptrCheck(lookup, facts, 'ipv6'),
    ]);
    const ns = server.nameServers ?? [];
    return renderPage(c, {
      title: `DNS for ${server.domain}`, user: c.get('user'), workspace: page.workspace, sandboxMail,
      body: html`${serverTabs(page.workspace.id, server.id, '/dns')}
      <section class="card" aria-labelledby="ns-h"><h2 id="ns-h">At your registrar</h2>
        ${ns.length ? html`<p>Set the nameservers of <strong>${server.domain}</strong> to:</p>${ns.map((n, i) => copyable(`ns-${i}`, n, `nameserver ${i + 1}`))}` : html`<p>The DNS zone is not created yet.</p>`}
        ${server.dnssecDs ? html`<p>Then add this DS record to turn on DNSSEC (DNSSEC is <strong>${server.dnssecStatus ?? 'pending'}</strong>):</p>${copyable('ds', server.dnssecDs, 'the DS record')}` : ''}
      </section>
      <section aria-labelledby="rec-h"><h2 id="rec-h">Records we publish</h2>
      ${records.length === 0 ? html`<p>No record is published yet.</p>` : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Type</th><th>Name</th><th>Value</th><th>Live answer</th></tr></thead><tbody>
        ${records.map((r, i) => html`<tr><td data-label="Type">${r.type}</td><td data-label="Name"><code>${r.name}</code></td>
          <td data-label="Value"><div class="row"><code id="rec-${i}">${r.priority !== null ? `${r.priority} ` : ''}${r.content}</code><button type="button" class="secondary" data-copy="rec-${i}" aria-label="Copy the ${r.type} value of ${r.name}">Copy</button></div></td>
          <td data-label="Live answer">${live[i]!.matches === null ? html`<span class="hint">not checked (${r.type})</span>` : live[i]!.matches ? html`<span class="ok">✓ matches</span>` : html`<span class="bad">✗ ${live[i]!.answers.length ? live[i]!.answers.join(' | ') : 'no answer'}</span>`}</td></tr>`)}
      </tbody></table></div>`}</section>
      <section class="card" aria-labelledby="ptr-h"><h2 id="ptr-h">Reverse DNS</h2><ul>
        ${[ptr4, ptr6].map((p) => html`<li><span class="pill ${p.status}">${p.status === 'pass' ? 'forward-confirmed' : p.status}</span> ${p.summary}</li>`)}
      </ul></section>`,
    });
  });
}
