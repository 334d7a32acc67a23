/**
 * The SMTP dialogue up to STARTTLS (RFC 3207): read the 220 greeting, EHLO,
 * check STARTTLS is offered, ask for it and wait for its 220. The caller then
 * starts TLS on the returned socket. Port 25 is where DANE senders meet the
 * certificate the TLSA record pins, so that is the one worth judging.
 */
import { connect, type Socket } from 'node:net';

const MAX_REPLY_BYTES = 16 * 1024;

export async function smtpStartTls(host: string, port: number, timeoutMs: number, heloName: string): Promise<Socket> {
  const socket = connect({ host, port });
  socket.setTimeout(timeoutMs);
  const replies = replyReader(socket);
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
      socket.once('timeout', () => reject(new Error('timeout')));
    });
    expectCode(await replies.next(), 220, 'greeting');
    socket.write(`EHLO ${heloName}\r\n`);
    const ehlo = await replies.next();
    expectCode(ehlo, 250, 'EHLO');
    if (!ehlo.lines.some((l) => /^STARTTLS\b/i.test(l))) throw new Error('STARTTLS is not offered');
    socket.write('STARTTLS\r\n');
    expectCode(await replies.next(), 220, 'STARTTLS');
    replies.detach();
    socket.setTimeout(0);
    return socket;
  } catch (err) {
    socket.destroy();
    throw err;
  }
}

interface Reply {
  code: number;
  lines: string[];
}

function expectCode(reply: Reply, code: number, what: string): void {
  if (reply.code !== code) throw new Error(`${what}: ${reply.code} ${reply.lines.join(' ')}`);
}

/** Multi-line replies ("250-…" continued, "250 …" final), one at a time. */
function replyReader(socket: Socket) {
  let buffer = '';
  let waiting: { resolve: (r: Reply) => void; reject: (e: Error) => void } | null = null;
  let failure: Error | null = null;
  const ready: Reply[] = [];
  const parse = () => {
    for (;;) {
      const lines = buffer.split('\r\n');
      const finalAt = lines.findIndex((l, i) => i < lines.length - 1 && /^\d{3}( |$)/.test(l));
      if (finalAt < 0) return;
      const reply = lines.slice(0, finalAt + 1);
      buffer = lines.slice(finalAt + 1).join('\r\n');
      ready.push({ code: Number(reply[finalAt]!.slice(0, 3)), lines: reply.map((l) => l.slice(4)) });
    }
  };
  const flush = () => {
    if (!waiting) return;
    const next = ready.shift();
    if (next) {
      const w = waiting;
      waiting = null;
      w.resolve(next);
    } else if (failure) {
      const w = waiting;
      waiting = null;
      w.reject(failure);
    }
  };
  const onData = (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    if (buffer.length > MAX_REPLY_BYTES) failure = new Error('reply too long');
    else parse();
    flush();
  };
  const onEnd = () => {
    failure ??= new Error('connection closed');
    flush();
  };
  const onError = (err: Error) => {
    failure ??= err;
    flush();
  };
  const onTimeout = () => {
    failure ??= new Error('timeout');
    flush();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onError);
  socket.on('timeout', onTimeout);
  return {
    next: () =>
      new Promise<Reply>((resolve, reject) => {
        waiting = { resolve, reject };
        flush();
      }),
    detach: () => {
      socket.off('data', onData);
      socket.off('end', onEnd);
      socket.off('error', onError);
      socket.off('timeout', onTimeout);
    },
  };
}
