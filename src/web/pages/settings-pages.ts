/**
 * Mail client settings (hosts, ports, security) and the two standard
 * self-configuration files: Thunderbird autoconfig (config-v1.1.xml) and an
 * Apple configuration profile (.mobileconfig, unsigned; no password inside).
 */
import { html } from 'hono/html';
import { randomUUID } from 'node:crypto';
import { findServer } from '../../servers/views.ts';
import { autoconfigXml } from '../../mailstack/mail-client-setup.ts';
import { renderPage } from '../layout.ts';
import type { WebApp, WebContext, WebDeps } from '../web-env.ts';
import { inWorkspace } from '../workspace-context.ts';
import { serverTabs } from './server-pages.ts';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function appleProfile(domain: string, host: string): string {
  const str = (k: string, v: string) => `<key>${k}</key><string>${xml(v)}</string>`;
  return `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
${str('PayloadType', 'Configuration')}<key>PayloadVersion</key><integer>1</integer>${str('PayloadIdentifier', `com.mailplane.${domain}`)}${str('PayloadUUID', randomUUID())}${str('PayloadDisplayName', `${domain} mail`)}
<key>PayloadContent</key><array><dict>
${str('PayloadType', 'com.apple.mail.managed')}<key>PayloadVersion</key><integer>1</integer>${str('PayloadIdentifier', `com.mailplane.${domain}.mail`)}${str('PayloadUUID', randomUUID())}${str('PayloadDisplayName', `${domain} mail`)}
${str('EmailAccountType', 'EmailTypeIMAP')}${str('EmailAccountDescription', domain)}
${str('IncomingMailServerHostName', host)}<key>IncomingMailServerPortNumber</key><integer>993</integer><key>IncomingMailServerUseSSL</key><true/>${str('IncomingMailServerAuthentication', 'EmailAuthPassword')}
${str('OutgoingMailServerHostName', host)}<key>OutgoingMailServerPortNumber</key><integer>465</integer><key>OutgoingMailServerUseSSL</key><true/>${str('OutgoingMailServerAuthentication', 'EmailAuthPassword')}
<key>OutgoingPasswordSameAsIncomingPassword</key><true/>
</dict></array></dict></plist>
`;
}

export function registerSettingsPages(web: WebApp, deps: WebDeps): void {
  const sandboxMail = deps.outbox !== null;
  const load = async (c: WebContext) => {
    const page = await inWorkspace(deps, c, 'servers.read');
    return { page, server: await findServer(deps.api.db, c.req.param('id') ?? '', page.workspace.id) };
  };

  web.get('/w/:ws/servers/:id/settings', async (c) => {
    const { page, server } = await load(c);
    const h = server.hostname;
    return renderPage(c, {
      title: 'Mail client settings',
      user: c.get('user'),
      workspace: page.workspace,
      sandboxMail,
      body: html`${serverTabs(page.workspace.id, server.id, '/settings')}
      <div class="table-wrap"><table class="responsive"><thead><tr><th>Service</th><th>Host</th><th>Port</th><th>Security</th></tr></thead><tbody>
        <tr><td data-label="Service">IMAP (incoming)</td><td data-label="Host"><code>${h}</code></td><td data-label="Port">993</td><td data-label="Security">SSL/TLS</td></tr>
        <tr><td data-label="Service">SMTP (outgoing)</td><td data-label="Host"><code>${h}</code></td><td data-label="Port">465</td><td data-label="Security">SSL/TLS</td></tr>
        <tr><td data-label="Service">SMTP (outgoing, alternative)</td><td data-label="Host"><code>${h}</code></td><td data-label="Port">587</td><td data-label="Security">STARTTLS</td></tr>
        <tr><td data-label="Service">Filters (ManageSieve)</td><td data-label="Host"><code>${h}</code></td><td data-label="Port">4190</td><td data-label="Security">STARTTLS</td></tr>
        <tr><td data-label="Service">Webmail</td><td data-label="Host"><code>webmail.${server.domain}</code></td><td data-label="Port">443</td><td data-label="Security">HTTPS</td></tr>
      </tbody></table></div>
      <p>User name: the full email address. Password: the mailbox password (create or reset it on the Mailboxes tab).</p>
      <p>Most mail apps need only the address and password: Outlook asks <code>autodiscover.${server.domain}</code>, Thunderbird
        <code>autoconfig.${server.domain}</code>, and others read the SRV records (<code>_imaps._tcp</code>, <code>_submissions._tcp</code>) listed on the DNS tab.</p>
      <p class="row"><a class="button secondary" href="/w/${page.workspace.id}/servers/${server.id}/settings/autoconfig.xml" download>Thunderbird autoconfig</a>
        <a class="button secondary" href="/w/${page.workspace.id}/servers/${server.id}/settings/${server.domain}.mobileconfig" download>Apple profile (iPhone, iPad, Mac)</a></p>`,
    });
  });

  web.get('/w/:ws/servers/:id/settings/autoconfig.xml', async (c) => {
    const { server } = await load(c);
    return c.body(autoconfigXml(server.domain, server.hostname), 200, {
      'content-type': 'application/xml; charset=utf-8',
      'content-disposition': 'attachment; filename="config-v1.1.xml"',
    });
  });
  web.get('/w/:ws/servers/:id/settings/:file{.+\\.mobileconfig}', async (c) => {
    const { server } = await load(c);
    return c.body(appleProfile(server.domain, server.hostname), 200, {
      'content-type': 'application/x-apple-aspen-config',
      'content-disposition': `attachment; filename="${server.domain}.mobileconfig"`,
    });
  });
}
