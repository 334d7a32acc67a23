/**
 * `mailplane templates render …`: writes the full tree a server would get
 * (configs and scripts) so support can see exactly what is installed. Keys are
 * throwaway ones made for this run: the real ones never leave the vault here.
 */
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { renderServerTree } from '../mailstack/render.ts';
import { TemplateInputError } from '../mailstack/validate.ts';
import { writeRenderedTree } from '../mailstack/write-tree.ts';
import type { Command } from './command.ts';

const USAGE = `mailplane templates render --hostname HOST --domain DOMAIN --ipv4 ADDR --ipv6 ADDR --out DIR
    [--selector NAME] [--admin-email ADDR] [--messages-per-hour N] [--recipients-per-message N] [--quota-mb N]
    [--ssh-from ADDR,CIDR,...]   (SSH sources; default: loopback only)

Writes every file installed on a mail server under DIR (DIR/etc/postfix/main.cf, …,
DIR/opt/mailplane/bin/*.sh). The DKIM and webmail keys are generated for this
run only and are not a server's real keys.`;

export const templatesCommand: Command = {
  name: 'templates',
  usage: USAGE,
  async run(args) {
    const { positionals, values } = parseArgs({
      args,
      allowPositionals: true,
      options: {
        hostname: { type: 'string' },
        domain: { type: 'string' },
        ipv4: { type: 'string' },
        ipv6: { type: 'string' },
        out: { type: 'string' },
        selector: { type: 'string', default: 'mailplane' },
        'admin-email': { type: 'string' },
        'messages-per-hour': { type: 'string', default: '200' },
        'recipients-per-message': { type: 'string', default: '100' },
        'quota-mb': { type: 'string', default: '5120' },
        'ssh-from': { type: 'string', default: '127.0.0.1,::1' },
      },
    });
    const { hostname, domain, ipv4, ipv6, out } = values;
    if (positionals[0] !== 'render' || positionals.length !== 1 || !hostname || !domain || !ipv4 || !ipv6 || !out) {
      process.stderr.write(`${USAGE}\n`);
      return 2;
    }
    const dkim = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    try {
      const files = renderServerTree({
        hostname,
        domain,
        ipv4,
        ipv6,
        sshSources: values['ssh-from']
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
        dkimSelector: values.selector,
        dkimPrivateKeyPem: dkim,
        webmailHmacKey: randomBytes(32).toString('base64'),
        adminEmail: values['admin-email'] ?? `postmaster@${domain}`,
        limits: {
          messagesPerHourPerSender: Number(values['messages-per-hour']),
          recipientsPerMessage: Number(values['recipients-per-message']),
          quotaMb: Number(values['quota-mb']),
        },
        // One week, as provisioning publishes it (MTA_STS_MAX_AGE).
        mtaStsPolicy: { mode: 'enforce', mx: [hostname], maxAge: 604800 },
      });
      await writeRenderedTree(files, out);
      process.stdout.write(`${files.length} files written under ${out}\n`);
      return 0;
    } catch (err) {
      if (err instanceof TemplateInputError) {
        process.stderr.write(`Invalid value: ${err.message}\n`);
        return 2;
      }
      throw err;
    }
  },
};
