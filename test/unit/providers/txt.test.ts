import { describe, expect, it } from 'vitest';
import { fromTxtContent, toTxtContent, txtChunks } from '../../../src/providers/dns/txt.ts';

describe('TXT character-strings', () => {
  it('keeps a short value as one quoted string', () => {
    expect(toTxtContent('v=spf1 mx -all')).toBe('"v=spf1 mx -all"');
  });

  it('splits a long value into 255-byte strings and joins it back', () => {
    const value = 'p='.padEnd(600, 'A');
    const chunks = txtChunks(value);
    expect(chunks.map((c) => c.length)).toEqual([255, 255, 90]);
    expect(toTxtContent(value)).toBe(chunks.map((c) => `"${c}"`).join(' '));
    expect(fromTxtContent(toTxtContent(value))).toBe(value);
  });

  it('counts bytes, not characters, and never splits inside a code point', () => {
    const value = 'é'.repeat(200);
    const chunks = txtChunks(value);
    expect(chunks.every((c) => Buffer.byteLength(c) <= 255)).toBe(true);
    expect(chunks[0]).toHaveLength(127);
    expect(fromTxtContent(toTxtContent(value))).toBe(value);
  });

  it('escapes quotes and backslashes and unescapes them on read', () => {
    const value = 'a "quoted" \\ value';
    expect(toTxtContent(value)).toBe('"a \\"quoted\\" \\\\ value"');
    expect(fromTxtContent(toTxtContent(value))).toBe(value);
  });

  it('reads decimal escapes as bytes', () => {
    expect(fromTxtContent('"semi\\059colon" "caf\\195\\169"')).toBe('semi;coloncafé');
  });

  it('returns unquoted or malformed content unchanged', () => {
    expect(fromTxtContent('v=spf1 -all')).toBe('v=spf1 -all');
    expect(fromTxtContent('"unterminated')).toBe('"unterminated');
  });

  it('writes an empty value as one empty string', () => {
    expect(toTxtContent('')).toBe('""');
    expect(fromTxtContent('""')).toBe('');
  });
});
