/**
 * pino logger. Secrets are removed by path before a line is written, so a
 * careless `log.info({ body })` cannot leak a password or a token. JSON in
 * production; readable lines in development. Errors go through
 * serializeError, which keeps query parameters out of the log.
 */
import { pino, type Logger, type DestinationStream } from 'pino';
import pretty from 'pino-pretty';
import { serializeError } from './log-errors.ts';

export type { Logger };

const SECRET_KEYS = [
  'password',
  'newPassword',
  'currentPassword',
  'passwordHash',
  'token',
  'accessToken',
  'refreshToken',
  'apiKey',
  'key',
  'secret',
  'secretKey',
  'privateKey',
  'authorization',
  'cookie',
  'set-cookie',
  'sessionSecret',
  'webhookSecret',
  'plaintext',
  'ciphertext',
  // Paths are case-sensitive: SDK configs and fetch() callers spell headers capitalised, and
  // Scaleway authenticates with X-Auth-Token rather than Authorization.
  'Authorization',
  'Cookie',
  'Set-Cookie',
  'proxy-authorization',
  'x-auth-token',
  'X-Auth-Token',
  'x-api-key',
  'X-Api-Key',
];

/** Every secret key at the top level and up to three levels deep. */
export const REDACT_PATHS: string[] = [
  ...SECRET_KEYS.flatMap((k) => {
    const key = /^[A-Za-z_$][\w$]*$/.test(k) ? k : `["${k}"]`;
    const join = (prefix: string) => (key.startsWith('[') ? `${prefix}${key}` : `${prefix}.${key}`);
    return [key.startsWith('[') ? key : key, join('*'), join('*.*'), join('*.*.*')];
  }),
];

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  /** Tests capture lines through their own stream. */
  destination?: DestinationStream;
}

export function createLogger(opts: LoggerOptions): Logger {
  const base = {
    level: opts.level,
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    // Errors under any of these keys lose the bound values database errors carry (see log-errors.ts).
    serializers: { err: serializeError, error: serializeError, cause: serializeError },
    base: { service: 'mailplane' },
  };
  if (opts.destination) return pino(base, opts.destination);
  if (opts.pretty) return pino(base, pretty({ colorize: process.stdout.isTTY, translateTime: 'HH:MM:ss.l', ignore: 'pid,hostname,service', singleLine: true }));
  return pino(base);
}
