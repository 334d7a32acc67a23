/**
 * What mail clients fetch to set themselves up, served by the server's nginx
 * (autoconfig.<domain>, autodiscover.<domain>) and offered on the dashboard:
 * Thunderbird's autoconfig (config-v1.1.xml) and Outlook's Autodiscover POX
 * answer. Both say the same as the SRV records (RFC 6186): IMAP on 993 and
 * submission on 465 with implicit TLS (587 with STARTTLS as the alternative),
 * the full address as the user name.
 */
export const AUTOCONFIG_PATH = '/var/www/mailclient/mail/config-v1.1.xml';
export const AUTODISCOVER_PATH = '/var/www/mailclient/autodiscover/autodiscover.xml';

const xml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function autoconfigXml(domain: string, host: string): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<clientConfig version="1.1">
  <emailProvider id="${xml(domain)}">
    <domain>${xml(domain)}</domain>
    <displayName>${xml(domain)} mail</displayName>
    <incomingServer type="imap"><hostname>${xml(host)}</hostname><port>993</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></incomingServer>
    <outgoingServer type="smtp"><hostname>${xml(host)}</hostname><port>465</port><socketType>SSL</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
    <outgoingServer type="smtp"><hostname>${xml(host)}</hostname><port>587</port><socketType>STARTTLS</socketType><authentication>password-cleartext</authentication><username>%EMAILADDRESS%</username></outgoingServer>
  </emailProvider>
</clientConfig>
`;
}

/**
 * Outlook's "POX" Autodiscover answer (MS-OXDSCLI, the outlook/responseschema/2006a
 * form). It is the same for every address of the domain, so the server serves it
 * as a file; without a LoginName, Outlook uses the address being set up, which is
 * the user name here.
 */
export function autodiscoverXml(host: string): string {
  const protocol = (type: 'IMAP' | 'SMTP', port: number, extra = '') => `      <Protocol>
        <Type>${type}</Type>
        <Server>${xml(host)}</Server>
        <Port>${port}</Port>
        <DomainRequired>off</DomainRequired>
        <SPA>off</SPA>
        <SSL>on</SSL>
        <AuthRequired>on</AuthRequired>${extra}
      </Protocol>`;
  return `<?xml version="1.0" encoding="utf-8"?>
<Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/responseschema/2006">
  <Response xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a">
    <Account>
      <AccountType>email</AccountType>
      <Action>settings</Action>
${protocol('IMAP', 993)}
${protocol('SMTP', 465, '\n        <UsePOPAuth>on</UsePOPAuth>\n        <SMTPLast>off</SMTPLast>')}
    </Account>
  </Response>
</Autodiscover>
`;
}
