/**
 * A mail exchanger of the sandbox internet: what a real host reaches when it
 * connects out to a well-known MX (check_network's outbound SMTP probe asks
 * Gmail's). It greets and closes, like an MX that only says hello; whether a
 * host gets that far is decided by the router (the provider's SMTP block).
 */
import { createServer, type Server } from 'node:net';
import { UPLINK } from './network.ts';

/** Names the sandbox DNS answers with the internet MX's address (the probe in provisioning/steps/check-network.ts). */
export const INTERNET_MX_NAMES = ['gmail-smtp-in.l.google.com'] as const;

export class InternetMx {
  private server: Server | null = null;

  async start(): Promise<void> {
    const server = createServer((socket) => {
      socket.on('error', () => socket.destroy());
      socket.setTimeout(10_000, () => socket.destroy());
      socket.write('220 mx.sandbox-internet.test ESMTP\r\n');
      socket.on('data', (chunk) => {
        if (/^QUIT/im.test(chunk.toString())) socket.end('221 2.0.0 Bye\r\n');
        else socket.write('502 5.5.1 The sandbox internet only says hello\r\n');
      });
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(25, UPLINK.root, resolve);
    });
    this.server = server;
  }

  /** A and AAAA answers for the MX names: its address on the uplink. */
  answer(name: string, type: string): string[] | null {
    const lower = name.toLowerCase().replace(/\.$/, '');
    if (!(INTERNET_MX_NAMES as readonly string[]).includes(lower)) return null;
    return type === 'A' ? [UPLINK.root] : type === 'AAAA' ? [] : null;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = null;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
