/**
 * autocannon in its own process, so the load generator does not share the
 * measured server's event loop. argv[2]: JSON { url, connections, durationSeconds,
 * headers }; prints autocannon's result as one JSON line.
 */
import autocannon from 'autocannon';

const { url, connections, durationSeconds, headers } = JSON.parse(process.argv[2] ?? '{}') as {
  url: string;
  connections: number;
  durationSeconds: number;
  headers?: Record<string, string>;
};
const result = await autocannon({ url, connections, duration: durationSeconds, headers: headers ?? {} });
process.stdout.write(`${JSON.stringify(result)}\n`);
