/**
 * TXT values on the wire. A DNS TXT record holds one or more
 * character-strings of at most 255 bytes each; resolvers hand back the pieces
 * and DKIM/SPF verifiers concatenate them. A 2048-bit DKIM key (~410 chars)
 * therefore has to be split, and Cloudflare stores whatever content we send:
 * an unquoted string over 255 bytes is rejected or split at an arbitrary
 * place, so we send the quoted, already-split form (`"part1" "part2"`) and
 * join it again on read.
 */

const MAX_CHUNK_BYTES = 255;

/** Splits a logical string into character-strings of at most 255 UTF-8 bytes, never inside a code point. */
export function txtChunks(value: string): string[] {
  const chunks: string[] = [];
  let current = '';
  let bytes = 0;
  for (const char of value) {
    const size = Buffer.byteLength(char, 'utf8');
    if (bytes + size > MAX_CHUNK_BYTES) {
      chunks.push(current);
      current = '';
      bytes = 0;
    }
    current += char;
    bytes += size;
  }
  if (current !== '' || chunks.length === 0) chunks.push(current);
  return chunks;
}

function quote(chunk: string): string {
  return `"${chunk.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

/** The logical string as Cloudflare TXT content: quoted 255-byte character-strings separated by spaces. */
export function toTxtContent(value: string): string {
  return txtChunks(value).map(quote).join(' ');
}

/**
 * Parses presentation-format character-strings (`"a" "b"`, with `\"`, `\\`
 * and `\DDD` escapes) and joins them. Content that is not quoted (written by
 * hand in the dashboard, or by another tool) is returned as it is.
 */
export function fromTxtContent(content: string): string {
  const text = content.trim();
  if (!text.startsWith('"')) return content;
  const parts: string[] = [];
  let i = 0;
  while (i < text.length) {
    while (text[i] === ' ' || text[i] === '\t') i++;
    if (i >= text.length) break;
    if (text[i] !== '"') return content;
    i++;
    // \DDD escapes are bytes, so the piece is built as bytes and decoded once.
    const part: number[] = [];
    const push = (s: string) => part.push(...Buffer.from(s, 'utf8'));
    let closed = false;
    while (i < text.length) {
      const ch = String.fromCodePoint(text.codePointAt(i)!);
      if (ch === '\\') {
        const digits = text.slice(i + 1, i + 4);
        if (/^\d{3}$/.test(digits)) {
          part.push(Number(digits) & 0xff);
          i += 4;
        } else {
          const escaped = i + 1 < text.length ? String.fromCodePoint(text.codePointAt(i + 1)!) : '';
          push(escaped);
          i += 1 + escaped.length;
        }
        continue;
      }
      if (ch === '"') {
        closed = true;
        i++;
        break;
      }
      push(ch);
      i += ch.length;
    }
    if (!closed) return content;
    parts.push(Buffer.from(part).toString('utf8'));
  }
  return parts.join('');
}
