/**
 * The local part of a mailbox address. Deliberately narrower than RFC 5321:
 * it ends up in the Dovecot passwd-file and Postfix maps (colon- and
 * whitespace-separated), so only dot-atoms of safe characters are accepted.
 */
import { z } from 'zod';

// Used by the system itself; postmaster and abuse stay available (RFC 2142 wants a person behind them).
const RESERVED = new Set(['root', 'mailer-daemon', 'nobody']);

export const LocalPart = z
  .string()
  .trim()
  .toLowerCase()
  .min(1)
  .max(64)
  .regex(/^[a-z0-9](?:[a-z0-9_+-]|\.(?!\.))*[a-z0-9]$|^[a-z0-9]$/, 'letters, digits and . _ + - only; no leading, trailing or double dot')
  .refine((v) => !RESERVED.has(v), 'this address is reserved for the server itself');
