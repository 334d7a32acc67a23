/**
 * The Scaleway emulator's instance catalogue: which commercial types each zone
 * sells, with the fields of `GET /instance/v1/zones/{zone}/products/servers`
 * and their availability (`…/products/servers/availability`).
 *
 * The facts are those of the real catalogue recorded by terraform-provider-scaleway
 * (2026-07-30), restricted to the small shared types a mail server can use: DEV1
 * types are sold in fr-par-1/2, nl-ams-1/2 and pl-waw-1/2 only; fr-par-3 sells
 * none of DEV1 or PLAY2 (only PRO2 of these); nl-ams-3 and pl-waw-3 sell PLAY2
 * and PRO2. Prices are fr-par-1's (other zones differ; fr-par-3 charges more).
 * The real catalogue lists about 40–135 types per zone; the emulator lists these.
 */
import { ZONES } from '../../providers/compute/interface.ts';

export type Availability = 'available' | 'scarce' | 'shortage';

interface TypeSpec {
  ncpus: number;
  ramGiB: number;
  /** DEV1 types carry local storage: the total of their l_ssd volumes is capped. 0: no local volume. */
  localMaxGb: number;
  monthlyPrice: number;
  hourlyPrice: number;
  internetBandwidth: number;
  blockBandwidth: number;
}

const GB = 1_000_000_000;

const TYPES: Record<string, TypeSpec> = {
  'DEV1-S': { ncpus: 2, ramGiB: 2, localMaxGb: 20, monthlyPrice: 6.55248, hourlyPrice: 0.008976, internetBandwidth: 200_000_000, blockBandwidth: 104_857_600 },
  'DEV1-M': { ncpus: 3, ramGiB: 4, localMaxGb: 40, monthlyPrice: 14.74308, hourlyPrice: 0.020196, internetBandwidth: 300_000_000, blockBandwidth: 157_286_400 },
  'DEV1-L': { ncpus: 4, ramGiB: 8, localMaxGb: 80, monthlyPrice: 31.2732, hourlyPrice: 0.04284, internetBandwidth: 400_000_000, blockBandwidth: 209_715_200 },
  'DEV1-XL': {
    ncpus: 4,
    ramGiB: 12,
    localMaxGb: 120,
    monthlyPrice: 47.50548,
    hourlyPrice: 0.065076,
    internetBandwidth: 500_000_000,
    blockBandwidth: 262_144_000,
  },
  'PLAY2-PICO': { ncpus: 1, ramGiB: 2, localMaxGb: 0, monthlyPrice: 10.4244, hourlyPrice: 0.01428, internetBandwidth: 100_000_000, blockBandwidth: 41_943_040 },
  'PLAY2-NANO': { ncpus: 2, ramGiB: 4, localMaxGb: 0, monthlyPrice: 20.1042, hourlyPrice: 0.02754, internetBandwidth: 200_000_000, blockBandwidth: 83_886_080 },
  'PLAY2-MICRO': {
    ncpus: 4,
    ramGiB: 8,
    localMaxGb: 0,
    monthlyPrice: 40.2084,
    hourlyPrice: 0.05508,
    internetBandwidth: 400_000_000,
    blockBandwidth: 167_772_160,
  },
  'PRO2-XXS': { ncpus: 2, ramGiB: 8, localMaxGb: 0, monthlyPrice: 40.953, hourlyPrice: 0.0561, internetBandwidth: 350_000_000, blockBandwidth: 131_072_000 },
  'PRO2-XS': { ncpus: 4, ramGiB: 16, localMaxGb: 0, monthlyPrice: 81.906, hourlyPrice: 0.1122, internetBandwidth: 700_000_000, blockBandwidth: 262_144_000 },
  'PRO2-S': {
    ncpus: 8,
    ramGiB: 32,
    localMaxGb: 0,
    monthlyPrice: 163.0674,
    hourlyPrice: 0.22338,
    internetBandwidth: 1_500_000_000,
    blockBandwidth: 524_288_000,
  },
};

const DEV1 = ['DEV1-S', 'DEV1-M', 'DEV1-L', 'DEV1-XL'];
const PLAY2 = ['PLAY2-PICO', 'PLAY2-NANO', 'PLAY2-MICRO'];
const PRO2 = ['PRO2-XXS', 'PRO2-XS', 'PRO2-S'];

/** What each zone sells (recorded). */
export const RECORDED_ZONE_TYPES: Record<string, string[]> = {
  'fr-par-1': [...DEV1, ...PLAY2, ...PRO2],
  'fr-par-2': [...DEV1, ...PLAY2, ...PRO2],
  'fr-par-3': [...PRO2],
  'nl-ams-1': [...DEV1, ...PLAY2, ...PRO2],
  'nl-ams-2': [...DEV1, ...PLAY2, ...PRO2],
  'nl-ams-3': [...PLAY2, ...PRO2],
  'pl-waw-1': [...DEV1, ...PLAY2, ...PRO2],
  'pl-waw-2': [...DEV1, ...PLAY2, ...PRO2],
  'pl-waw-3': [...PLAY2, ...PRO2],
};

/** The largest Block Storage volume (10 TB) and the smallest boot volume: the image's own (10 GB, recorded). */
export const SBS_MAX_BYTES = 10_000 * GB;
export const IMAGE_VOLUME_BYTES = 10 * GB;

export class InstanceCatalogue {
  private readonly zones = new Map<string, string[]>(Object.entries(RECORDED_ZONE_TYPES));
  private readonly availability = new Map<string, Availability>();

  /** The types a zone sells, in catalogue order. */
  types(zone: string): string[] {
    return this.zones.get(zone) ?? [];
  }

  sells(zone: string, type: string): boolean {
    return this.types(zone).includes(type);
  }

  spec(type: string): TypeSpec | undefined {
    return TYPES[type];
  }

  availabilityOf(zone: string, type: string): Availability {
    return this.availability.get(`${zone}/${type}`) ?? 'available';
  }

  /** Tests: stock runs low (`scarce`) or out (`shortage`), or a zone stops selling a type. */
  setAvailability(zone: string, type: string, availability: Availability): void {
    this.availability.set(`${zone}/${type}`, availability);
  }

  setZoneTypes(zone: string, types: string[]): void {
    if (!(ZONES as readonly string[]).includes(zone)) throw new Error(`unknown zone ${zone}`);
    this.zones.set(zone, [...types]);
  }

  /** One entry of `products/servers`, in the recorded field set. */
  typeJson(type: string): Record<string, unknown> {
    const t = TYPES[type]!;
    return {
      alt_names: [],
      arch: 'x86_64',
      ncpus: t.ncpus,
      ram: t.ramGiB * 1024 ** 3,
      gpu: 0,
      gpu_info: null,
      mig_profile: null,
      volumes_constraint: { min_size: 0, max_size: t.localMaxGb * GB },
      per_volume_constraint: { l_ssd: t.localMaxGb > 0 ? { min_size: GB, max_size: 800 * GB } : { min_size: 0, max_size: 0 } },
      scratch_storage_max_size: 0,
      scratch_storage_max_volumes_count: 0,
      monthly_price: t.monthlyPrice,
      hourly_price: t.hourlyPrice,
      capabilities: {
        boot_types: ['local', 'rescue'],
        placement_groups: true,
        block_storage: true,
        hot_snapshots_local_volume: t.localMaxGb > 0,
        private_network: 8,
        max_file_systems: 0,
      },
      network: {
        ipv6_support: true,
        sum_internal_bandwidth: t.internetBandwidth,
        sum_internet_bandwidth: t.internetBandwidth,
        interfaces: [{ internal_bandwidth: t.internetBandwidth, internet_bandwidth: t.internetBandwidth }],
      },
      block_bandwidth: t.blockBandwidth,
      end_of_service: false,
    };
  }
}
