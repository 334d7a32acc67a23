/**
 * A local SMTP sink for the benchmarks: NODE_ENV=production requires an SMTP
 * relay (sign-ups are mailed their verification link), and the bench measures
 * the product as deployed, so its mail goes to this listener, which accepts
 * every message and keeps nothing. Speaks just enough SMTP for nodemailer.
 */
import { createServer, type Server } from 'node:net';

export interface SmtpSink {
  url: string;
  accepted: () => number;
  close: () => Promise<void>;
}

export async function startSmtpSink(): Promise<SmtpSink> {
  let accepted = 0;
  const server: Server = createServer((socket) => {
    let inData = false;
    let buffered = '';
    socket.setEncoding('utf8');
    socket.write('220 bench-sink ESMTP\r\n');
    socket.on('data', (chunk: string) => {
      buffered += chunk;
      for (let end = buffered.indexOf('\r\n'); end >= 0; end = buffered.indexOf('\r\n')) {
        const line = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        if (inData) {
          if (line === '.') {
            inData = false;
            accepted += 1;
            socket.write('250 2.0.0 accepted\r\n');
          }
          continue;
        }
        const verb = line.slice(0, 4).toUpperCase();
        if (verb === 'EHLO' || verb === 'HELO') socket.write('250 bench-sink\r\n');
        else if (verb === 'DATA') {
          inData = true;
          socket.write('354 end with .\r\n');
        } else if (verb === 'QUIT') {
          socket.end('221 2.0.0 bye\r\n');
        } else socket.write('250 2.0.0 ok\r\n');
      }
    });
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `smtp://127.0.0.1:${port}`,
    accepted: () => accepted,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
