/** What the fleet services (drift checks, maintenance reboots, rollouts) are given by the composition root. */
import type { ProvisioningDeps } from '../../provisioning/context.ts';
import type { Config } from '../config.ts';

export interface FleetDeps {
  /** SSH to servers, the vault, the stack source, alerts, the queue and the database: all the steps have. */
  provisioning: ProvisioningDeps;
  settings: Config['fleet'];
}
