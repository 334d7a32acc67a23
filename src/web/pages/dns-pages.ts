/**
 * The DNS page: the nameservers to set and the DNSSEC DS (with the key for
 * registries that ask for it, and what mailplane waits for), the records
 * mailplane publishes with their live answers, the customer's own records
 * (imported from the domain's DNS before the move, to check before moving the
 * nameservers; owners and admins add, change and delete them), the SPF senders
 * besides the server, and PTR v4/v6 forward-confirmed.
 */
import { html } from 'hono/html';
import { CUSTOMER_RECORD_TYPES, type CustomerRecordInput } from '../../customer-dns/record-input.ts';
import { addCustomerRecord, customerRecordsOf, deleteCustomerRecord, setSpfTerms, spfView, updateCustomerRecord } from '../../customer-dns/service.ts';
import { normAnswer } from '../../health/dns-checks.ts';
import { startDkimRotation } from '../../servers/dkim-rotation.ts';
import { dkimKeysView } from '../../servers/dkim-view.ts';
import { dnssecView, expectedAnswer } from '../../servers/dns-view.ts';
import { ptrView } from '../../health/ptr-view.ts';
import { findServer, publishedRecords } from '../../servers/views.ts';
import { copyable, formOf, refusal } from '../forms.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';
import { dkimSection } from './dkim-section.ts';
import { hostName } from '../host-name.ts';

function recordInput(form: Record<string, string>): CustomerRecordInput {
  const type = (CUSTOMER_RECORD_TYPES as readonly string[]).includes(form['type'] ?? '') ? (form['type'] as CustomerRecordInput['type']) : 'A';
  const priority = form['priority'] ? Number(form['priority']) : undefined;
  return { type, name: form['name'] ?? '', content: form['content'] ?? '', ...(priority !== undefined ? { priority } : {}) };
}

const recordFields = (prefix: string, r?: { type: string; name: string; content: string; priority: number | null }) => html`
  <div><label for="${prefix}-type">Type</label><select id="${prefix}-type" name="type">${CUSTOMER_RECORD_TYPES.map((t) => html`<option ${r?.type === t ? 'selected' : ''}>${t}</option>`)}</select></div>
  <div><label for="${prefix}-name">Name ("@" for the domain itself)</label><input id="${prefix}-name" name="name" value="${r?.name ?? ''}" required></div>
  <div><label for="${prefix}-content">Value</label><input id="${prefix}-content" name="content" value="${r?.content ?? ''}" required></div>
  <div><label for="${prefix}-priority">Priority (MX)</label><input id="${prefix}-priority" name="priority" type="number" min="0" max="65535" value="${r?.priority ?? ''}"></div>`;

export function registerDnsPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const { lookup } = deps.p;
  const dns = { database: deps.p.database, queue: deps.p.queue, lookup, clock: deps.api.clock };

  const dnsPage = async (c: WebContext, error?: string) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    const server = await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id);
    const records = await publishedRecords(deps.api.db, server.id);
    const theirs = (await customerRecordsOf(deps.api.db, server.id)).filter((r) => r.state !== 'deleting');
    // Live answers for every record at once: the page costs the slowest lookup, not their sum.
    const [live, [ptr4, ptr6], spf, keys] = await Promise.all([
      Promise.all(
        records.map(async (r) => {
          const { type, expected } = expectedAnswer(r, server);
          if (!type) return { answers: [] as string[], matches: null as boolean | null };
          const res = await lookup.lookup(r.name, type);
          const answers = res.status === 'ok' ? res.answers : [];
          return { answers, matches: answers.some((a) => normAnswer(a) === normAnswer(expected)) };
        }),
      ),
      ptrView(lookup, deps.api.db, server.id),
      spfView(lookup, server),
      dkimKeysView(deps.api.db, server.id),
    ]);
    const ns = server.nameServers ?? [];
    const dnssec = dnssecView(server);
    const manage = page.can('dns.manage');
    const base = `/w/${page.workspace.id}/servers/${server.id}/dns`;
    return renderPage(c, {
      title: `DNS for ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error: error ?? null,
      status: error ? 400 : 200,
      body: html`${serverTabs(page.workspace.id, server.id, '/dns')}
      <section class="card" aria-labelledby="ns-h"><h2 id="ns-h">At your registrar</h2>
        ${ns.length ? html`<p>First check <a href="#theirs-h">your records</a> below: once the nameservers move, only the records listed on this page answer for <strong>${server.domain}</strong>. Then set its nameservers to:</p>${ns.map((n, i) => copyable(`ns-${i}`, n, `nameserver ${i + 1}`))}` : html`<p>The DNS zone is not created yet.</p>`}
        ${
          server.dnssecDs
            ? html`<p>Then add this DS record to turn on DNSSEC (DNSSEC is <strong>${server.dnssecStatus ?? 'pending'}</strong>):</p>${copyable('ds', server.dnssecDs, 'the DS record')}
          ${dnssec.key ? html`<p class="hint">If your registrar asks for the key instead: key tag ${dnssec.key.keyTag}, algorithm ${dnssec.key.algorithm}, digest type ${dnssec.key.digestType}, flags ${dnssec.key.flags}.</p>${dnssec.key.publicKey ? copyable('dnskey', dnssec.key.publicKey, 'the public key') : ''}` : ''}
          ${dnssec.waitingFor ? html`<p class="notice">${dnssec.waitingFor.message} mailplane checks every 10 minutes and publishes it by itself.</p>` : ''}`
            : ''
        }
      </section>
      <section aria-labelledby="rec-h"><h2 id="rec-h">Records we publish</h2>
      ${
        records.length === 0
          ? html`<p>No record is published yet.</p>`
          : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Type</th><th>Name</th><th>Value</th><th>Live answer</th></tr></thead><tbody>
        ${records.map(
          (r, i) => html`<tr><td data-label="Type">${r.type}</td><td data-label="Name">${hostName(r.name)}</td>
          <td data-label="Value"><div class="row"><code id="rec-${i}">${r.priority !== null ? `${r.priority} ` : ''}${r.content}</code><button type="button" class="secondary" data-copy="rec-${i}" aria-label="Copy the ${r.type} value of ${r.name}">Copy</button></div></td>
          <td data-label="Live answer">${live[i]!.matches === null ? html`<span class="hint">not checked (${r.type})</span>` : live[i]!.matches ? html`<span class="ok">✓ matches</span>` : html`<span class="bad">✗ ${live[i]!.answers.length ? live[i]!.answers.join(' | ') : 'no answer'}</span>`}</td></tr>`,
        )}
      </tbody></table></div>`
      }</section>
      <section aria-labelledby="theirs-h"><h2 id="theirs-h">Your records</h2>
        <p>${server.dnsImportedAt ? 'Found in your current DNS and copied into the new zone (mailplane never changes them), and any you added. Add what is missing before you move the nameservers: Cloudflare finds only the common names (www, the domain itself…).' : 'Your current DNS is copied here when the zone is created.'}</p>
        ${
          theirs.length === 0
            ? html`<p>No record of yours yet.</p>`
            : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Type</th><th>Name</th><th>Value</th><th>State</th>${manage ? html`<th>Actions</th>` : ''}</tr></thead><tbody>
          ${theirs.map(
            (
              r,
            ) => html`<tr><td data-label="Type">${r.type}</td><td data-label="Name">${hostName(r.name)}${r.source === 'imported' ? html`<div class="hint">imported</div>` : ''}</td>
            <td data-label="Value"><code>${r.priority !== null ? `${r.priority} ` : ''}${r.content}</code></td>
            <td data-label="State"><span class="pill ${r.state}">${r.state}</span>${r.error ? html`<div class="bad">${r.error}</div>` : ''}</td>
            ${
              manage
                ? html`<td data-label="Actions" class="actions"><details><summary>Change ${r.type} ${r.name}</summary><form method="post" action="${base}/records/${r.id}" class="stack">${recordFields(`r-${r.id}`, r)}<div><button type="submit" class="secondary">Save</button></div></form></details>
              <form method="post" action="${base}/records/${r.id}/delete" data-confirm="Delete ${r.type} ${r.name}?"><button type="submit" class="danger">Delete ${r.type} ${r.name}</button></form></td>`
                : ''
            }</tr>`,
          )}
        </tbody></table></div>`
        }
        ${manage ? html`<h3>Add a record</h3><form method="post" action="${base}/records" class="stack card">${recordFields('new')}<div><button type="submit">Add record</button></div></form>` : ''}
      </section>
      <section class="card" aria-labelledby="spf-h"><h2 id="spf-h">Other senders (SPF)</h2>
        <p>Services that send mail as ${server.domain} besides this server (a CRM, an invoicing tool) must be in its SPF record. Published now:</p><p><code>${spf.record}</code> <span class="hint">(${spf.lookups ?? '?'} of 10 DNS lookups)</span></p>
        ${manage ? html`<form method="post" action="${base}/spf" class="stack"><div><label for="spf-terms">Senders, one per line (include:, ip4:, ip6:, a, mx)</label><textarea id="spf-terms" name="terms" rows="4">${spf.terms.join('\n')}</textarea></div><div><button type="submit" class="secondary">Save senders</button></div></form>` : ''}
      </section>
      <section class="card" aria-labelledby="ptr-h"><h2 id="ptr-h">Reverse DNS</h2><ul>
        ${[ptr4!, ptr6!].map((p) => html`<li><span class="pill ${p.status}">${p.status === 'pass' ? 'forward-confirmed' : p.status}</span> ${p.summary}</li>`)}
      </ul></section>
      ${dkimSection(keys, { rotate: page.can('servers.rotate_dkim'), action: `/w/${page.workspace.id}/servers/${server.id}/dkim/rotate` })}`,
    });
  };

  const act = (path: string, run: (c: WebContext, page: Awaited<ReturnType<typeof inWorkspace>>) => Promise<unknown>) => {
    web.post(path, async (c) => {
      const page = await inWorkspace(deps, c, 'dns.manage');
      try {
        await run(c, page);
      } catch (err) {
        return dnsPage(c, refusal(err));
      }
      return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}/dns#theirs-h`, 303);
    });
  };

  web.get('/w/:ws/servers/:id/dns', (c) => dnsPage(c));
  web.post('/w/:ws/servers/:id/dkim/rotate', async (c) => {
    const page = await inWorkspace(deps, c, 'servers.rotate_dkim');
    try {
      const server = await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id);
      const form = await formOf(c);
      await startDkimRotation(deps.p, c.get('actor'), {
        serverId: server.id,
        reason: (form['reason'] ?? '').trim() || 'rotated from the dashboard',
        emergency: form['emergency'] === '1',
      });
    } catch (err) {
      return dnsPage(c, refusal(err));
    }
    // The checklist on the server page follows the rotation live.
    return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}`, 303);
  });
  act('/w/:ws/servers/:id/dns/records', async (c, page) =>
    addCustomerRecord(dns, c.get('actor'), page.access, c.req.param('id')!, recordInput(await formOf(c))),
  );
  act('/w/:ws/servers/:id/dns/records/:rid', async (c, page) =>
    updateCustomerRecord(dns, c.get('actor'), page.access, c.req.param('id')!, c.req.param('rid')!, recordInput(await formOf(c))),
  );
  act('/w/:ws/servers/:id/dns/records/:rid/delete', async (c, page) =>
    deleteCustomerRecord(dns, c.get('actor'), page.access, c.req.param('id')!, c.req.param('rid')!),
  );
  act('/w/:ws/servers/:id/dns/spf', async (c, page) => {
    const terms = (await formOf(c))['terms']?.split(/[\s,]+/).filter(Boolean) ?? [];
    return setSpfTerms(dns, c.get('actor'), page.access, c.req.param('id')!, terms);
  });
}
