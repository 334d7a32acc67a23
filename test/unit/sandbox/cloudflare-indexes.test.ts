/**
 * The Cloudflare emulator's indexed maps answer as the scans they replace did: a zone's records in
 * creation order, the longest zone suffix for a name, and nothing stale after a delete or a move.
 */
import { describe, expect, it } from 'vitest';
import { RecordMap, ZoneMap } from '../../../src/sandbox/cloudflare/indexes.ts';
import type { CfRecord, CfZone } from '../../../src/sandbox/cloudflare/wire.ts';

const zone = (id: string, name: string) => ({ id, name }) as CfZone;
const record = (id: string, zoneId: string, name = 'x') => ({ id, zone_id: zoneId, name }) as CfRecord;

describe('ZoneMap.authoritativeFor', () => {
  it('finds the longest zone suffix of a name, whatever its case or trailing dot', () => {
    const zones = new ZoneMap();
    zones.set('1', zone('1', 'example.com'));
    zones.set('2', zone('2', 'sub.example.com'));
    expect(zones.authoritativeFor('mail.sub.example.com')?.id).toBe('2');
    expect(zones.authoritativeFor('MAIL.Example.com.')?.id).toBe('1');
    expect(zones.authoritativeFor('example.com')?.id).toBe('1');
    expect(zones.authoritativeFor('notexample.com')).toBeNull();
    expect(zones.authoritativeFor('com')).toBeNull();
  });

  it('forgets a deleted zone, and keeps the first of two zones of one name as the scan did', () => {
    const zones = new ZoneMap();
    zones.set('1', zone('1', 'example.com'));
    zones.set('2', zone('2', 'example.com'));
    expect(zones.authoritativeFor('a.example.com')?.id).toBe('1');
    zones.delete('1');
    expect(zones.authoritativeFor('a.example.com')?.id).toBe('2');
    zones.clear();
    expect(zones.authoritativeFor('a.example.com')).toBeNull();
  });
});

describe('RecordMap.inZone', () => {
  it("lists a zone's records in creation order, and follows updates, moves and deletes", () => {
    const records = new RecordMap();
    records.set('a', record('a', 'z1'));
    records.set('b', record('b', 'z2'));
    records.set('c', record('c', 'z1'));
    expect(records.inZone('z1').map((r) => r.id)).toEqual(['a', 'c']);
    records.set('a', record('a', 'z1', 'renamed'));
    expect(records.inZone('z1').map((r) => [r.id, r.name])).toEqual([
      ['a', 'renamed'],
      ['c', 'x'],
    ]);
    records.set('c', record('c', 'z2'));
    expect(records.inZone('z1').map((r) => r.id)).toEqual(['a']);
    expect(records.inZone('z2').map((r) => r.id)).toEqual(['b', 'c']);
    records.delete('b');
    expect(records.inZone('z2').map((r) => r.id)).toEqual(['c']);
    expect(records.inZone('none')).toEqual([]);
    expect([...records.keys()]).toEqual(['a', 'c']);
  });
});
