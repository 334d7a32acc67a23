/**
 * A host name that wraps only after its dots (`mail.<wbr>example.<wbr>com`), never mid-label: the
 * DNS page's names are long and break-all cut them mid-word ("ma-il"), which misreads as a typo.
 */
import { html } from 'hono/html';
import type { HtmlEscapedString } from 'hono/utils/html';

export function hostName(name: string): HtmlEscapedString | Promise<HtmlEscapedString> {
  const labels = name.split('.');
  return html`<code class="host">${labels.map((label, i) => (i < labels.length - 1 ? html`${label}.<wbr>` : html`${label}`))}</code>`;
}
