/**
 * What the customer types for addresses, checked once for the API and the
 * dashboard. Every value ends up in a Postfix map or a Sieve script (quoted by
 * src/mailstack/addresses.ts), so the shapes are narrow on purpose.
 */
import { z } from '@hono/zod-openapi';

// What reaches a Sieve script or a Postfix map: no control characters (a new line in a subject
// would be a header injection in the reply), quotes and backslashes are escaped by the renderer.
export const OneLine = z
  .string()
  .trim()
  .min(1)
  .max(200)
  .regex(/^[^\p{Cc}]*$/u, 'one line of text, no control characters');
export const Text = z
  .string()
  .transform((v) => v.replace(/\r\n?/g, '\n'))
  .pipe(
    z
      .string()
      .trim()
      .min(1)
      .max(5000)
      .regex(/^(?:[^\p{Cc}]|\n|\t)*$/u, 'text without control characters other than line breaks and tabs'),
  );
export const Day = z.iso.date().openapi({ description: 'YYYY-MM-DD, UTC' });
// An outside address: a dot-atom local part (no quoted strings: they would need escaping in every map and script).
export const ForwardTarget = z
  .string()
  .trim()
  .max(254)
  .regex(
    /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$/,
    "an email address (local part of letters, digits and !#$%&'*+/=?^_`{|}~.-)",
  )
  .transform((v) => {
    const at = v.lastIndexOf('@');
    return `${v.slice(0, at)}@${v.slice(at + 1).toLowerCase()}`;
  })
  .refine((v) => v.lastIndexOf('@') <= 64, 'local part longer than 64 characters');
