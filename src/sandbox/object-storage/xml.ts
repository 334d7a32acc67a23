/**
 * Just enough XML for S3 request bodies (Delete, CompleteMultipartUpload,
 * VersioningConfiguration, LifecycleConfiguration): flat elements, no
 * attributes that matter, the five predefined entities. A body that does not
 * have the expected shape is MalformedXML, as S3 answers.
 */
import { S3Error } from './errors.ts';

const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_m, d: string) => String.fromCodePoint(Number(d)))
    .replace(/&#x([0-9a-f]+);/gi, (_m, h: string) => String.fromCodePoint(Number.parseInt(h, 16)))
    .replace(/&amp;/g, '&');

/** The inner XML of every `<tag>` element (with or without a namespace prefix/attributes). */
export function elements(xml: string, tag: string): string[] {
  const re = new RegExp(`<(?:\\w+:)?${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</(?:\\w+:)?${tag}>)`, 'g');
  return [...xml.matchAll(re)].map((m) => m[1] ?? '');
}

/** The text of the first `<tag>`, unescaped; undefined when absent. */
export function text(xml: string, tag: string): string | undefined {
  const found = elements(xml, tag)[0];
  return found === undefined ? undefined : unescapeXml(found.trim());
}

/** The document must be rooted at `root`. */
export function root(xml: string, rootTag: string): string {
  const found = elements(xml, rootTag)[0];
  if (found === undefined) throw new S3Error('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema.');
  return found;
}
