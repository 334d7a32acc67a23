/**
 * Addresses of a server in the dashboard: aliases of each mailbox, the domain's
 * catch-all (off by default), forwarding to an outside address and the vacation
 * reply of each mailbox. The same services, validation and permissions as the
 * API (src/addresses/); members see, owners and admins change.
 */
import { html } from 'hono/html';
import { z } from 'zod';
import {
  createAlias,
  deleteAlias,
  listAddresses,
  removeMailboxSetting,
  setCatchAll,
  setForward,
  setVacation,
  type AddressDeps,
} from '../../addresses/service.ts';
import { Day, ForwardTarget, OneLine, Text } from '../../addresses/input.ts';
import { LocalPart } from '../../mailboxes/local-part.ts';
import { listMailboxes } from '../../mailboxes/service.ts';
import { findServer } from '../../servers/views.ts';
import { field, formOf, refusal } from '../forms.ts';
import { noticeOf, renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';

const VacationForm = z.object({ startsOn: Day, endsOn: Day, subject: OneLine, message: Text, days: z.coerce.number().int().min(1).max(30) });

export function registerAddressPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const a: AddressDeps = { database: deps.p.mailboxes.database, queue: deps.p.mailboxes.queue, limitsOf: deps.p.mailboxes.limitsOf };

  const addressPage = async (c: WebContext, error?: string) => {
    const page = await inWorkspace(deps, c, 'mailboxes.read');
    const server = await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id);
    const boxes = (await listMailboxes(deps.api.db, page.access, server.id)).filter((b) => b.state === 'active');
    const set = await listAddresses(deps.api.db, page.access, server.id);
    const base = `/w/${page.workspace.id}/servers/${server.id}/addresses`;
    const manage = page.can('mailboxes.manage') && server.status === 'ready';
    const addressOf = (id: string) => boxes.find((b) => b.id === id)?.address ?? '(being deleted)';
    const state = (s: { status: string }) => html`<span class="pill ${s.status}">${s.status === 'applied' ? 'on the server' : 'pending'}</span>`;
    const options = (selected: string | null) => boxes.map((b) => html`<option value="${b.id}" ${b.id === selected ? 'selected' : ''}>${b.address}</option>`);
    return renderPage(c, {
      title: `Addresses of ${server.domain}`,
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      error: error ?? null,
      notice: noticeOf(c),
      status: error ? 400 : 200,
      body: html`${serverTabs(page.workspace.id, server.id, '/addresses')}
      <section class="card" aria-labelledby="aliases-h"><h2 id="aliases-h">Aliases</h2>
        <p class="hint">Mail to an alias arrives in its mailbox, and the mailbox may send as the alias (and only as its own addresses).</p>
        ${
          set.aliases.length === 0
            ? html`<p>No alias yet.</p>`
            : html`<div class="table-wrap"><table class="responsive"><thead><tr><th>Alias</th><th>Mailbox</th><th>State</th>${manage ? html`<th>Actions</th>` : ''}</tr></thead><tbody>
          ${set.aliases.map(
            (
              al,
            ) => html`<tr><td data-label="Alias"><strong>${al.address}</strong></td><td data-label="Mailbox">${addressOf(al.mailboxId)}</td><td data-label="State">${state(al.sync)}</td>
            ${manage ? html`<td data-label="Actions"><form method="post" action="${base}/aliases/${al.id}/delete" data-confirm="Remove ${al.address}? Mail to it will be refused."><button type="submit" class="danger">Remove ${al.localPart}</button></form></td>` : ''}</tr>`,
          )}
        </tbody></table></div>`
        }
        ${
          manage && boxes.length
            ? html`<form method="post" action="${base}/aliases" class="stack">
          ${field({ name: 'localPart', label: `New alias (before @${server.domain})`, autocomplete: 'off' })}
          <div><label for="f-alias-mailbox">Delivered to</label><select id="f-alias-mailbox" name="mailboxId">${options(null)}</select></div>
          <div><button type="submit">Add alias</button></div></form>`
            : ''
        }
      </section>
      <section class="card" aria-labelledby="catch-h"><h2 id="catch-h">Catch-all</h2>
        <p>${set.catchAll ? html`Mail to any address of ${server.domain} that does not exist goes to <strong>${set.catchAll.address}</strong> ${state(set.catchAll.sync)}.` : html`Off: mail to an address that does not exist is refused before it is sent (no bounce).`}</p>
        ${
          manage
            ? html`<form method="post" action="${base}/catch-all" class="stack"><div><label for="f-catch-all">Unknown addresses go to</label>
          <select id="f-catch-all" name="mailboxId"><option value="">Nobody (refused)</option>${options(set.catchAll?.mailboxId ?? null)}</select></div>
          <div><button type="submit">Save catch-all</button></div></form>`
            : ''
        }
      </section>
      ${boxes.map((b) => {
        const fwd = set.forwards.find((f) => f.mailboxId === b.id);
        const away = set.vacations.find((v) => v.mailboxId === b.id);
        const id = b.id.slice(0, 8);
        return html`<section class="card" aria-labelledby="mb-${id}"><h2 id="mb-${id}">${b.address}</h2>
          <h3>Forwarding</h3>
          <p>${fwd ? html`Forwarded to <strong>${fwd.target}</strong>, ${fwd.keepCopy ? 'a copy kept here' : 'no copy kept'} ${state(fwd.sync)}. Mail marked as spam is never forwarded.` : 'Not forwarded.'}</p>
          ${
            manage
              ? html`<form method="post" action="${base}/${b.id}/forward" class="stack">
            <div><label for="f-target-${id}">Forward to</label><input id="f-target-${id}" name="target" type="email" value="${fwd?.target ?? ''}" autocomplete="off" required></div>
            <div><input id="f-keep-${id}" name="keepCopy" type="checkbox" value="yes" ${!fwd || fwd.keepCopy ? 'checked' : ''}> <label for="f-keep-${id}" class="inline">Keep a copy in ${b.localPart}</label></div>
            <div class="row"><button type="submit">Save forwarding</button>${fwd ? html`<button type="submit" formaction="${base}/${b.id}/forward/delete" class="secondary">Stop forwarding</button>` : ''}</div></form>`
              : ''
          }
          <h3>Vacation reply</h3>
          <p>${away ? html`From ${away.startsOn} to ${away.endsOn} (UTC): “${away.subject}”, at most once every ${away.days} days per sender ${state(away.sync)}.` : 'Off.'} Never sent to mailing lists, bulk mail or bounces.</p>
          ${
            manage
              ? html`<form method="post" action="${base}/${b.id}/vacation" class="stack">
            <div class="row"><div><label for="f-from-${id}">From</label><input id="f-from-${id}" name="startsOn" type="date" value="${away?.startsOn ?? ''}" required></div>
            <div><label for="f-to-${id}">Until</label><input id="f-to-${id}" name="endsOn" type="date" value="${away?.endsOn ?? ''}" required></div>
            <div><label for="f-days-${id}">Days between replies</label><input id="f-days-${id}" name="days" type="number" min="1" max="30" value="${String(away?.days ?? 7)}" required></div></div>
            <div><label for="f-subject-${id}">Subject</label><input id="f-subject-${id}" name="subject" value="${away?.subject ?? ''}" maxlength="200" required></div>
            <div><label for="f-message-${id}">Message</label><textarea id="f-message-${id}" name="message" rows="4" maxlength="5000" required>${away?.message ?? ''}</textarea></div>
            <div class="row"><button type="submit">Save vacation reply</button>${away ? html`<button type="submit" formaction="${base}/${b.id}/vacation/delete" formnovalidate class="secondary">Turn off</button>` : ''}</div></form>`
              : ''
          }
        </section>`;
      })}`,
    });
  };

  const act = (
    path: string,
    fn: (c: WebContext, form: Record<string, string>, access: Awaited<ReturnType<typeof inWorkspace>>['access']) => Promise<string | null>,
  ) => {
    web.post(`/w/:ws/servers/:id/addresses${path}`, async (c) => {
      const page = await inWorkspace(deps, c, 'mailboxes.manage');
      try {
        const problem = await fn(c, await formOf(c), page.access);
        if (problem) return addressPage(c, problem);
      } catch (err) {
        return addressPage(c, refusal(err));
      }
      return c.redirect(`/w/${page.workspace.id}/servers/${c.req.param('id')}/addresses?notice=addresses_saved`, 303);
    });
  };

  web.get('/w/:ws/servers/:id/addresses', (c) => addressPage(c));
  act('/aliases', async (c, form, access) => {
    const localPart = LocalPart.safeParse(form['localPart'] ?? '');
    if (!localPart.success) return 'Use letters, digits, dots, hyphens or underscores before the @.';
    await createAlias(a, c.get('actor'), access, c.req.param('id')!, { localPart: localPart.data, mailboxId: form['mailboxId'] ?? '' });
    return null;
  });
  act('/aliases/:alias/delete', async (c, _form, access) => {
    await deleteAlias(a, c.get('actor'), access, c.req.param('id')!, c.req.param('alias')!);
    return null;
  });
  act('/catch-all', async (c, form, access) => {
    await setCatchAll(a, c.get('actor'), access, c.req.param('id')!, form['mailboxId'] || null);
    return null;
  });
  act('/:mb/forward', async (c, form, access) => {
    const target = ForwardTarget.safeParse(form['target'] ?? '');
    if (!target.success) return 'Forward to one email address (letters, digits and . _ + - before the @).';
    await setForward(a, c.get('actor'), access, c.req.param('id')!, c.req.param('mb')!, { target: target.data, keepCopy: form['keepCopy'] === 'yes' });
    return null;
  });
  act('/:mb/forward/delete', async (c, _form, access) => {
    await removeMailboxSetting(a, c.get('actor'), access, c.req.param('id')!, c.req.param('mb')!, 'forward');
    return null;
  });
  act('/:mb/vacation', async (c, form, access) => {
    const input = VacationForm.safeParse(form);
    if (!input.success) return 'Give both dates, a subject on one line (up to 200 characters), a message (up to 5000) and 1 to 30 days between replies.';
    await setVacation(a, c.get('actor'), access, c.req.param('id')!, c.req.param('mb')!, input.data);
    return null;
  });
  act('/:mb/vacation/delete', async (c, _form, access) => {
    await removeMailboxSetting(a, c.get('actor'), access, c.req.param('id')!, c.req.param('mb')!, 'vacation');
    return null;
  });
}
