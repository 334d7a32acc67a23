/**
 * Look-alike domains. `аpple-mail.com` with a Cyrillic `а` is `xn--pple-mail-…` on the wire
 * and `apple-mail.com` to a reader: a server for it could phish the customer who owns the
 * real one. Such a name is not refused (it may well be someone's own domain), but flagged for
 * ops to review: an alert names both domains.
 *
 * The comparison is a skeleton in the spirit of Unicode TR39: labels decoded from punycode,
 * compatibility-decomposed, marks dropped, and the common Cyrillic, Greek and Latin look-alikes
 * of ASCII letters folded onto them. Only names with a punycode label on either side are
 * compared: two ASCII names are not homoglyphs of each other.
 */
import { domainToUnicode } from 'node:url';
import { and, ne, or, sql } from 'drizzle-orm';
import type { DbOrTx } from '../db/client.ts';
import { servers } from '../db/schema/index.ts';

const LOOKALIKES: Record<string, string> = {
  // Cyrillic
  а: 'a',
  в: 'b',
  с: 'c',
  ԁ: 'd',
  е: 'e',
  ё: 'e',
  һ: 'h',
  і: 'i',
  ї: 'i',
  ј: 'j',
  к: 'k',
  ӏ: 'l',
  м: 'm',
  н: 'h',
  о: 'o',
  р: 'p',
  ԛ: 'q',
  г: 'r',
  ѕ: 's',
  т: 't',
  ц: 'u',
  ѵ: 'v',
  ԝ: 'w',
  х: 'x',
  у: 'y',
  з: '3',
  ь: 'b',
  п: 'n',
  л: 'n',
  // Greek
  α: 'a',
  β: 'b',
  ϲ: 'c',
  δ: 'd',
  ε: 'e',
  η: 'n',
  ι: 'i',
  κ: 'k',
  ν: 'v',
  ο: 'o',
  ρ: 'p',
  τ: 't',
  υ: 'u',
  χ: 'x',
  γ: 'y',
  ω: 'w',
  // Latin look-alikes
  ı: 'i',
  ȷ: 'j',
  ł: 'l',
  ɑ: 'a',
  ɡ: 'g',
  ɩ: 'i',
  ʀ: 'r',
  ꞵ: 'b',
  ð: 'd',
  đ: 'd',
  ħ: 'h',
  ø: 'o',
  ŧ: 't',
  ƅ: 'b',
  ɢ: 'g',
  ɪ: 'i',
  ɴ: 'n',
  ʏ: 'y',
};

/** The name as a reader sees it, folded so that look-alikes compare equal. */
export function domainSkeleton(domain: string): string {
  const unicode = domainToUnicode(domain) || domain;
  return [...unicode.normalize('NFKD').replace(/\p{M}/gu, '').toLowerCase()].map((ch) => LOOKALIKES[ch] ?? ch).join('');
}

const hasPunycode = (domain: string) => domain.split('.').some((l) => l.startsWith('xn--'));

/** Another workspace's live server domain that looks like this one but is not it, or null. */
export async function findLookalikeDomain(db: DbOrTx, domain: string, workspaceId: string): Promise<string | null> {
  const wanted = domainSkeleton(domain);
  // With an ASCII name, only punycode names can look like it; with a punycode name, any can.
  const rows = await db
    .select({ domain: servers.domain })
    .from(servers)
    .where(
      and(
        ne(servers.status, 'deleted'),
        ne(servers.domain, domain),
        ne(servers.workspaceId, workspaceId),
        hasPunycode(domain) ? sql`true` : or(sql`${servers.domain} like 'xn--%'`, sql`${servers.domain} like '%.xn--%'`),
      ),
    );
  return rows.find((r) => domainSkeleton(r.domain) === wanted)?.domain ?? null;
}
