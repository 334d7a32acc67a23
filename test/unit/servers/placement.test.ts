/** Which type a plan gets in a zone: the first of its types the zone sells and has in stock. */
import { describe, expect, it } from 'vitest';
import type { ServerTypeOffer } from '../../../src/providers/compute/interface.ts';
import { createPlacements, typeForZone } from '../../../src/servers/placement.ts';
import { rootVolumeBytes } from '../../../src/servers/root-volume.ts';

const plan = { id: 'starter', name: 'Starter', commercialType: 'DEV1-S', fallbackTypes: ['PLAY2-PICO', 'PRO2-XXS'] };
const offer = (commercialType: string, availability: ServerTypeOffer['availability'] = 'available'): ServerTypeOffer => ({ commercialType, availability });

describe('typeForZone', () => {
  it('takes the preferred type where it is sold', () => {
    expect(typeForZone(plan, [offer('PRO2-XXS'), offer('DEV1-S'), offer('PLAY2-PICO')])).toEqual({ commercialType: 'DEV1-S' });
  });

  it('falls back in order where the preferred type is not sold or out of stock (scarce still sells)', () => {
    expect(typeForZone(plan, [offer('PLAY2-PICO'), offer('PRO2-XXS')])).toEqual({ commercialType: 'PLAY2-PICO' });
    expect(typeForZone(plan, [offer('DEV1-S', 'shortage'), offer('PLAY2-PICO', 'scarce')])).toEqual({ commercialType: 'PLAY2-PICO' });
    expect(typeForZone(plan, [offer('PRO2-XXS')])).toEqual({ commercialType: 'PRO2-XXS' });
  });

  it('says whether the zone sells none of the types or has none in stock', () => {
    expect(typeForZone(plan, [offer('DEV1-M'), offer('GP1-S')])).toEqual({ refused: 'not_sold' });
    expect(typeForZone(plan, [offer('DEV1-S', 'shortage')])).toEqual({ refused: 'shortage' });
  });
});

describe('createPlacements', () => {
  it('offers only configured zones, and hides a zone whose catalogue cannot be read', async () => {
    const placements = createPlacements({
      zones: ['fr-par-1', 'fr-par-3', 'nl-ams-1'],
      compute: {
        serverTypes: async (zone) => {
          if (zone === 'nl-ams-1') throw new Error('503');
          return zone === 'fr-par-1' ? [offer('DEV1-S')] : [offer('PRO2-XS')];
        },
      },
    });
    expect(await placements.sellableZones(plan)).toEqual([{ zone: 'fr-par-1', commercialType: 'DEV1-S' }]);
    expect(await placements.typeFor(plan, 'pl-waw-1')).toEqual({ refused: 'not_sold' });
    await expect(placements.typeFor(plan, 'nl-ams-1')).rejects.toThrow('503');
  });
});

describe('rootVolumeBytes', () => {
  it("is the mailbox storage sold plus 10 GB, in Scaleway's decimal bytes", () => {
    expect(rootVolumeBytes({ storageGb: 20 })).toBe(30_000_000_000);
    expect(rootVolumeBytes({ storageGb: 40 })).toBe(50_000_000_000);
  });
});
