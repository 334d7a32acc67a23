/** The small pure parts of the fleet: waves, maintenance windows, diffs, the stack digest and its package list. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { unifiedDiff } from '../../../src/fleet/line-diff.ts';
import { isOpen, nextOpening, validateWindow } from '../../../src/fleet/maintenance.ts';
import { planWaves } from '../../../src/fleet/waves.ts';
import { MAIL_STACK_PACKAGES, MAIL_STACK_SERVICES } from '../../../src/mailstack/packages.ts';
import { stackDigest, stackSource } from '../../../src/mailstack/stack.ts';
import { SCRIPT_DIR } from '../../../src/mailstack/manifest.ts';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { sampleServer } from '../mailstack/sample-server.ts';

const script = (name: string) => readFileSync(new URL(`../../../templates/scripts/${name}`, import.meta.url), 'utf8');
/** A script as a server gets it: the package groups of packages.ts filled in. */
const rendered = (name: string) => renderServerTree(sampleServer()).find((f) => f.path === `${SCRIPT_DIR}/${name}`)!.content;

describe('rollout waves', () => {
  it('starts with one canary, then a small share, then waves of bounded size', () => {
    const fleet = Array.from({ length: 123 }, (_, i) => i);
    const waves = planWaves(fleet, { canaryPercent: 10, waveSize: 20 });
    expect(waves.map((w) => w.length)).toEqual([1, 13, 20, 20, 20, 20, 20, 9]);
    expect(waves.flat()).toEqual(fleet);
    expect(planWaves([7, 8], { canaryPercent: 10, waveSize: 20 })).toEqual([[7], [8]]);
    expect(planWaves([7], { canaryPercent: 10, waveSize: 20 })).toEqual([[7]]);
  });
});

describe('maintenance windows', () => {
  const sundayNight = { days: [0], startMinute: 23 * 60, durationMinutes: 180 };
  it('is open inside its hours on its days, across midnight too', () => {
    expect(isOpen(sundayNight, new Date('2026-12-06T23:30:00Z'))).toBe(true); // a Sunday
    expect(isOpen(sundayNight, new Date('2026-12-07T01:59:00Z'))).toBe(true); // Monday, still Sunday's window
    expect(isOpen(sundayNight, new Date('2026-12-07T02:00:00Z'))).toBe(false);
    expect(isOpen(sundayNight, new Date('2026-12-07T23:30:00Z'))).toBe(false);
    expect(nextOpening(sundayNight, new Date('2026-12-07T12:00:00Z')).toISOString()).toBe('2026-12-13T23:00:00.000Z');
  });
  it('refuses a window that says nothing or too little', () => {
    expect(() => validateWindow({ days: [], startMinute: 0, durationMinutes: 60 })).toThrow(/days/);
    expect(() => validateWindow({ days: [7], startMinute: 0, durationMinutes: 60 })).toThrow(/days/);
    expect(() => validateWindow({ days: [1], startMinute: 1440, durationMinutes: 60 })).toThrow(/startMinute/);
    expect(() => validateWindow({ days: [1], startMinute: 0, durationMinutes: 10 })).toThrow(/durationMinutes/);
  });
});

describe('unified diff', () => {
  it('shows the changed line with its context, and nothing for equal texts', () => {
    const before = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'].join('\n');
    const after = before.replace('e', 'E');
    expect(unifiedDiff(before, after, { before: 'x', after: 'y' })).toBe('--- x\n+++ y\n@@ -2,7 +2,7 @@\n b\n c\n d\n-e\n+E\n f\n g\n h\n');
    expect(unifiedDiff(before, before, { before: 'x', after: 'y' })).toBe('');
  });
});

describe('stack version', () => {
  it('changes with any template, and not otherwise', () => {
    const s = stackSource({ release: 'r1' }).current();
    expect(s.version).toMatch(/^[0-9a-f]{16}$/);
    expect(stackDigest(s.manifest, s.templates, s.packages)).toBe(s.version);
    const edited = { ...s.templates, 'postfix/main.cf': `${s.templates['postfix/main.cf']}# marker\n` };
    expect(stackDigest(s.manifest, edited, s.packages)).not.toBe(s.version);
    expect(stackDigest(s.manifest, s.templates, [...s.packages, 'vim'])).not.toBe(s.version);
  });

  it('lists the packages the scripts install and the services verify-services.sh checks', () => {
    const installed = [...rendered('install-mail-stack.sh').matchAll(/^\s*install_packages ([^\n]+?)(?: \\\n\s+([^\n]+))?$/gm)]
      .flatMap((m) => `${m[1]} ${m[2] ?? ''}`.split(/\s+/))
      .filter(Boolean);
    const hardened = /for p in ([^;]+); do/.exec(rendered('harden.sh'))![1]!.split(/\s+/);
    expect([...new Set([...installed, ...hardened])].filter((p) => p !== '"$@"').sort()).toEqual([...new Set(MAIL_STACK_PACKAGES)].sort());
    const units = /for unit in ([^;]+); do\n\s+if systemctl is-active/.exec(script('verify-services.sh'))![1]!.split(/\s+/);
    expect(units.sort()).toEqual([...MAIL_STACK_SERVICES].sort());
  });
});
