/** Every step by name: the engine's registry. */
import type { StepDefinition } from '../context.ts';
import type { StepName } from '../plan.ts';
import { activateZone } from './activate-zone.ts';
import { allocateIps } from './allocate-ips.ts';
import { checkBlacklists } from './check-blacklists.ts';
import { finalBackup } from './backup-steps.ts';
import { checkNetwork } from './check-network.ts';
import { createServer } from './create-server.ts';
import { deleteDnsRecords, deleteServer, releaseIps } from './deprovision.ts';
import { generateDkim } from './generate-dkim.ts';
import { harden } from './harden.ts';
import { installMailStack } from './install-mail-stack.ts';
import { issueTls } from './issue-tls.ts';
import { publishDns } from './publish-dns.ts';
import { publishTlsa } from './publish-tlsa.ts';
import { attachReplacementIp } from './rotate-attach.ts';
import { releaseOldIp } from './rotate-release.ts';
import { repointDns, repointPtr } from './rotate-repoint.ts';
import { checkReplacementIp, reserveReplacementIp } from './rotate-reserve.ts';
import { restoreMailboxes, restoreTls } from './rebuild-restore-keys.ts';
import { backupBeforeRebuild, restoreMail } from './rebuild-restore-mail.ts';
import { retireInstance } from './rebuild-retire.ts';
import { repointAddresses } from './rebuild-addresses.ts';
import { confirmNextDkim, generateNextDkim, publishNextDkim, signWithNextDkim } from './rotate-dkim.ts';
import { prepareNextTlsKey, publishNextTlsa, retireOldTlsa, switchTlsKey } from './roll-tls-key.ts';
import { setPtr } from './set-ptr.ts';
import { verify } from './verify.ts';
import { waitSsh } from './wait-ssh.ts';
import { backupBeforeChange, checkAfterChange } from './upgrade-steps.ts';

export const STEPS: Record<StepName, StepDefinition> = {
  allocate_ips: allocateIps,
  check_blacklists: checkBlacklists,
  create_server: createServer,
  generate_dkim: generateDkim,
  publish_dns: publishDns,
  activate_zone: activateZone,
  set_ptr: setPtr,
  wait_ssh: waitSsh,
  install_mail_stack: installMailStack,
  harden,
  check_network: checkNetwork,
  issue_tls: issueTls,
  publish_tlsa: publishTlsa,
  verify,
  final_backup: finalBackup,
  delete_dns_records: deleteDnsRecords,
  delete_server: deleteServer,
  release_ips: releaseIps,
  reserve_replacement_ip: reserveReplacementIp,
  check_replacement_ip: checkReplacementIp,
  attach_replacement_ip: attachReplacementIp,
  repoint_dns: repointDns,
  repoint_ptr: repointPtr,
  release_old_ip: releaseOldIp,
  backup_before_rebuild: backupBeforeRebuild,
  retire_instance: retireInstance,
  repoint_addresses: repointAddresses,
  restore_tls: restoreTls,
  restore_mailboxes: restoreMailboxes,
  restore_mail: restoreMail,
  generate_next_dkim: generateNextDkim,
  publish_next_dkim: publishNextDkim,
  confirm_next_dkim: confirmNextDkim,
  sign_with_next_dkim: signWithNextDkim,
  prepare_next_tls_key: prepareNextTlsKey,
  publish_next_tlsa: publishNextTlsa,
  switch_tls_key: switchTlsKey,
  retire_old_tlsa: retireOldTlsa,
  backup_before_change: backupBeforeChange,
  check_after_change: checkAfterChange,
};
