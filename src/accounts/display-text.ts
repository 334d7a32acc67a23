/**
 * Names people give (their own, a workspace's) travel: into the product's mail to strangers
 * (invitations), into pages other members see. So they are one line of visible text:
 * - no control characters (C0, DEL, C1): `Billing\r\nBcc: x@y\r\n\r\nURGENT…` is a header and a
 *   forged message body, not a name;
 * - no bidirectional overrides and isolates (U+202A–202E, U+2066–2069), which reorder what a
 *   reader sees (`moc.evil` shown as `live.com`);
 * - at least one visible character: a name of only zero-width or blank characters (U+200B,
 *   U+FEFF, U+3164, …) looks like nothing and hides who is writing.
 */
import { ValidationError } from '../errors.ts';

const CONTROL = /\p{Cc}/u;
const BIDI = /[\u202a-\u202e\u2066-\u2069]/u;
/** Separators, format characters and the blank look-alike letters that render as nothing. */
// biome-ignore lint/suspicious/noMisleadingCharacterClass: U+034F (combining grapheme joiner) is matched alone on purpose, as an invisible character.
const INVISIBLE = /[\p{Z}\p{Cf}\s\u115f\u1160\u3164\uffa0\u2800\u034f\u17b4\u17b5\u180e]/gu;

export function displayTextProblem(text: string): string | null {
  if (CONTROL.test(text)) return 'must not contain control characters (line breaks, tabs, …)';
  if (BIDI.test(text)) return 'must not contain bidirectional override characters';
  if (text.replace(INVISIBLE, '') === '') return 'must contain a visible character';
  return null;
}

/** Throws the API's 400 naming the field, for callers that did not validate through a zod schema (the dashboard). */
export function assertDisplayText(text: string, field: string): void {
  const problem = displayTextProblem(text);
  if (problem) throw new ValidationError(`${field}: ${problem}`, { errors: [{ path: field, message: problem }] });
}
