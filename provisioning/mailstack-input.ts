/** Everything the mail-stack templates need for one server, secrets read from the vault at the moment of use. */
import { and, eq } from 'drizzle-orm';
import { dkimKeys } from '../src/db/schema/index.ts';
import type { ServerTemplateInput } from '../src/mailstack/render.ts';
import type { ProvisioningDeps, ServerRow } from './context.ts';
import { MTA_STS_MAX_AGE } from './dns-records.ts';
import { readSecret } from './server-keys.ts';
import { generationSecrets, type DkimKeyRow } from './dkim/keys.ts';

/** `signingKey`: the DKIM generation to sign with (a rotation renders its next key); default the active one. */
export async function mailstackInput(deps: ProvisioningDeps, server: ServerRow, signingKey?: DkimKeyRow): Promise<ServerTemplateInput> {
  const [active] = signingKey
    ? [signingKey]
    : await deps.database.db
        .select()
        .from(dkimKeys)
        .where(and(eq(dkimKeys.serverId, server.id), eq(dkimKeys.domain, server.domain), eq(dkimKeys.state, 'active')));
  const dkim = active;
  if (!dkim) throw new Error('no active DKIM key (generate_dkim)');
  const secrets = await generationSecrets(deps, server, dkim);
  if (!server.ipv4 || !server.ipv6) throw new Error('server has no addresses yet (create_server)');
  const limits = deps.settings.limitsOf(server.planId);
  return {
    hostname: server.hostname,
    domain: server.domain,
    ipv4: server.ipv4,
    ipv6: server.ipv6,
    sshSources: deps.settings.controlPlaneAddresses,
    dkimSelector: dkim.selector,
    dkimPrivateKeyPem: secrets.rsaPem,
    ...(dkim.ed25519Selector && secrets.ed25519Pem ? { dkimEd25519: { selector: dkim.ed25519Selector, privateKeyPem: secrets.ed25519Pem } } : {}),
    webmailHmacKey: await readSecret(deps.vault, deps, server, 'webmail_hmac_key'),
    adminEmail: deps.settings.acmeEmail ?? `postmaster@${server.domain}`,
    acmeDirectoryUrl: deps.settings.acmeDirectoryUrl ?? undefined,
    limits: {
      messagesPerHourPerSender: limits.messagesPerHour,
      recipientsPerMessage: 100,
      quotaMb: Math.floor((limits.storageGb * 1024) / Math.max(1, limits.mailboxes)),
    },
    mtaStsPolicy: { mode: 'enforce', mx: [server.hostname], maxAge: MTA_STS_MAX_AGE },
  };
}
