/**
 * Password hashing (argon2id) and the strength policy. Login cost is the same
 * whether or not the account exists: an unknown email is verified against a
 * dummy hash so timing does not reveal which emails have accounts.
 */
import { hash, verify } from '@node-rs/argon2';
import { ValidationError } from '../errors.ts';

// OWASP's argon2id baseline (m=19 MiB, t=2, p=1).
// `algorithm: 2` is Algorithm.Argon2id (a const enum, which type stripping cannot inline).
const PARAMS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const MIN_PASSWORD_LENGTH = 12;
export const MAX_PASSWORD_LENGTH = 256;

// The most common passwords of at least MIN_PASSWORD_LENGTH characters in public breach corpora.
const COMMON = new Set([
  'password1234',
  'password12345',
  'password123456',
  '123456789012',
  '1234567890123',
  'qwertyuiop12',
  'qwertyuiopasdf',
  '1q2w3e4r5t6y',
  'iloveyou1234',
  'passwordpassword',
  'aaaaaaaaaaaa',
  'abcdefghijkl',
  'abc123456789',
  'letmein12345',
  'welcome12345',
  'administrator',
  'qwerty123456',
  'changeme1234',
  'trustno11234',
  'football1234',
  'baseball1234',
  'monkey123456',
  'sunshine1234',
  'princess1234',
  'mailplane1234',
  'correcthorsebatterystaple',
  'zaq12wsxcde3',
  '1qaz2wsx3edc',
  'p@ssw0rd1234',
]);

export function passwordProblems(password: string, context: { email?: string; name?: string } = {}): string[] {
  const problems: string[] = [];
  if (password.length < MIN_PASSWORD_LENGTH) problems.push(`must be at least ${MIN_PASSWORD_LENGTH} characters`);
  if (password.length > MAX_PASSWORD_LENGTH) problems.push(`must be at most ${MAX_PASSWORD_LENGTH} characters`);
  const lower = password.toLowerCase();
  if (COMMON.has(lower)) problems.push('is a commonly used password');
  if (new Set(lower).size < 5) problems.push('uses too few different characters');
  if (/^(?:0123456789|1234567890|abcdefghij|qwertyuiop)/.test(lower) && new Set(lower).size < 12) problems.push('is a keyboard or number sequence');
  const local = context.email?.split('@')[0]?.toLowerCase();
  if (local && local.length >= 4 && lower.includes(local)) problems.push(`must not contain "${local}" from your email address`);
  const name = context.name?.toLowerCase().replace(/\s+/g, '');
  if (name && name.length >= 4 && lower.replace(/\s+/g, '').includes(name)) problems.push('must not contain your name');
  return problems;
}

export function assertStrongPassword(password: string, context: { email?: string; name?: string } = {}): void {
  const problems = passwordProblems(password, context);
  if (problems.length > 0) {
    throw new ValidationError(`Password ${problems.join('; ')}`, { errors: problems.map((message) => ({ path: 'json.password', message })) });
  }
}

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(hash: string, password: string): Promise<boolean>;
  /** Spends the time of one verification without a real hash (unknown account). */
  verifyDummy(password: string): Promise<false>;
}

export function createPasswordHasher(params: { memoryCost?: number; timeCost?: number } = {}): PasswordHasher {
  const options = { ...PARAMS, ...params };
  let dummy: Promise<string> | null = null;
  return {
    hash: (password) => hash(password, options),
    verify: async (h, password) => {
      try {
        return await verify(h, password);
      } catch {
        return false;
      }
    },
    verifyDummy: async (password) => {
      dummy ??= hash('mailplane-dummy-password-for-timing', options);
      await verify(await dummy, password).catch(() => false);
      return false;
    },
  };
}
