/**
 * Clients the mail-stack proofs need that swaks cannot be: a raw SMTP client that sends a bare
 * <LF> (swaks normalises line endings), the webmail's way of submitting (from the server itself,
 * 127.0.0.1 → 465 with AUTH, as Roundcube does), and an IMAP poll. Each is a short Python or curl
 * program run where its real counterpart runs: in the sandbox internet or on the machine.
 */
import { inInternet } from './internet.ts';

/**
 * One SMTP session on port 25 that tries to smuggle a second message behind `<LF>.<CR><LF>`
 * (CVE-2023-51764). Prints the reply to DATA and every reply that follows the body, as JSON.
 */
const SMUGGLE = String.raw`
import json, socket, sys
host, sender, rcpt, token = sys.argv[1:5]
s = socket.create_connection((host, 25), timeout=90)
buf = b''
def reply():
    global buf
    lines = []
    while True:
        while b'\r\n' not in buf:
            chunk = s.recv(4096)
            if not chunk:
                raise EOFError('connection closed after %r' % lines)
            buf += chunk
        line, buf = buf.split(b'\r\n', 1)
        lines.append(line.decode('utf-8', 'replace'))
        if len(line) < 4 or line[3:4] != b'-':
            return lines
def cmd(c):
    s.sendall(c.encode() + b'\r\n')
    return reply()
out = {'greeting': reply()}
out['ehlo'] = cmd('EHLO judge.example.net')
out['mail'] = cmd('MAIL FROM:<%s>' % sender)
out['rcpt'] = cmd('RCPT TO:<%s>' % rcpt)
out['data'] = cmd('DATA')
outer = ('From: <%s>\r\nTo: <%s>\r\nSubject: outer %s\r\nMessage-ID: <outer.%s@judge.example.net>\r\n\r\nouter part\n.\r\n' % (sender, rcpt, token, token))
smuggled = ('MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nDATA\r\nFrom: <%s>\r\nTo: <%s>\r\nSubject: smuggled %s\r\n\r\nsmuggled part\r\n.\r\n' % (sender, rcpt, sender, rcpt, token))
s.sendall((outer + smuggled).encode())
after = []
try:
    after.append(reply()[-1])
    # Whatever else the server has to say about the bytes sent comes right after the first reply.
    s.settimeout(10)
    while True:
        after.append(reply()[-1])
except (socket.timeout, EOFError):
    pass
out['after'] = after
try:
    s.settimeout(30)
    out['quit'] = cmd('QUIT')
except Exception as e:
    out['quit'] = [repr(e)]
print(json.dumps(out))
`;

export interface SmuggleOutcome {
  greeting: string[];
  data: string[];
  after: string[];
  quit: string[];
}

export async function trySmtpSmuggling(host: string, sender: string, rcpt: string, token: string): Promise<SmuggleOutcome> {
  const res = await inInternet(['python3', '-c', SMUGGLE, host, sender, rcpt, token], { timeoutMs: 180_000 });
  if (res.code !== 0) throw new Error(`smuggling client: exit ${res.code}: ${res.output}`);
  return JSON.parse(res.stdout) as SmuggleOutcome;
}

/**
 * Submits as Roundcube does (smtp_host ssl://127.0.0.1:465, the user's own login), run on the
 * server: `sessions` connections, each AUTH then `perSession` messages to the user's own address.
 * Prints {sent, errors} as JSON; a refusal ends that session and is kept as written by Postfix.
 */
// biome-ignore lint/complexity/noUselessStringRaw: Python source; raw so a backslash added to it later reaches Python as written.
export const WEBMAIL_SUBMIT = String.raw`
import json, smtplib, ssl, sys
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
user, password, sessions, per = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
sent, errors = 0, []
for n in range(sessions):
    try:
        with smtplib.SMTP_SSL('127.0.0.1', 465, context=ctx, timeout=50) as smtp:
            smtp.ehlo('localhost')
            smtp.login(user, password)
            for k in range(per):
                m = EmailMessage()
                m['From'] = user
                m['To'] = user
                m['Subject'] = 'webmail budget %d.%d' % (n, k)
                m['Date'] = formatdate()
                m['Message-ID'] = make_msgid(domain=user.split('@')[1])
                m.set_content('Sent the way the webmail sends.')
                smtp.send_message(m)
                sent += 1
    except Exception as e:
        errors.append('%s: %s' % (type(e).__name__, e))
print(json.dumps({'sent': sent, 'errors': errors}))
`;

/** The first message of an IMAP SEARCH (curl as the client), or '' once `timeoutMs` has passed. */
export async function waitForImapMessage(host: string, user: string, password: string, search: string, timeoutMs: number): Promise<string> {
  const imap = (cmd: string[]) => inInternet(['curl', '-sS', '--insecure', '--user', `${user}:${password}`, ...cmd], { timeoutMs: 30_000 });
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await imap([`imaps://${host}/INBOX`, '-X', `SEARCH ${search}`]);
    const uid = /SEARCH ([0-9 ]+)/.exec(found.stdout)?.[1]?.trim().split(' ')[0];
    if (uid) return (await imap([`imaps://${host}/INBOX;MAILINDEX=${uid}`])).stdout;
    await new Promise((r) => setTimeout(r, 2_000));
  }
  return '';
}
