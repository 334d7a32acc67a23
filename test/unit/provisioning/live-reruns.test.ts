import { describe, expect, it } from 'vitest';
import { LIVE_RERUNS, liveRerunRefusal } from '../../../provisioning/live-reruns.ts';
import { PLANS, type RunKind } from '../../../provisioning/plan.ts';

describe('re-running a step on a live server', () => {
  it('says what every step of a run that ends with a live server does when re-run there', () => {
    // A deprovision run ends with no server, so its steps are never re-run on a live one.
    const live = (Object.keys(PLANS) as RunKind[]).filter((k) => k !== 'deprovision');
    const missing = live.flatMap((k) =>
      Object.keys(PLANS[k])
        .filter((s) => !LIVE_RERUNS[s])
        .map((s) => `${k}.${s}`),
    );
    expect(missing).toEqual([]);
  });

  it('refuses the steps that would reserve, release, replace or restore over, and only on a finished run of a ready server', () => {
    expect(liveRerunRefusal('ready', 'succeeded', 'create_server')).toMatch(/rebuild/);
    expect(liveRerunRefusal('ready', 'succeeded', 'restore_mail')).toMatch(/restore a mailbox/);
    expect(liveRerunRefusal('ready', 'succeeded', 'switch_tls_key')).toMatch(/rollover/);
    expect(liveRerunRefusal('ready', 'succeeded', 'publish_dns')).toBeNull();
    // A failed rotation leaves the server ready: re-running its failed step is how support finishes it.
    expect(liveRerunRefusal('ready', 'failed', 'switch_tls_key')).toBeNull();
    expect(liveRerunRefusal('provisioning', 'succeeded', 'create_server')).toBeNull();
  });
});
