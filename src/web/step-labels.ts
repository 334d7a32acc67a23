/** What each provisioning step does, in the customer's words (names match the design's plan table). */
export const STEP_LABELS: Record<string, string> = {
  // In plan order across every kind of run (pages list a run's steps in this order).
  backup_before_rebuild: 'Back up the old server if it still answers',
  backup_before_change: 'Back up the mail before the change',
  retire_instance: 'Retire the old instance (its addresses are kept)',
  allocate_ips: 'Reserve IPv4 and IPv6 addresses',
  check_blacklists: 'Check the addresses against blacklists',
  create_server: 'Create the server',
  repoint_addresses: 'Check the addresses DNS names, and their reverse DNS',
  generate_dkim: 'Generate the DKIM signing key',
  generate_next_dkim: 'Generate the next DKIM keys (a new dated selector)',
  publish_next_dkim: 'Publish the next DKIM keys',
  confirm_next_dkim: 'Wait until public resolvers answer the next DKIM keys',
  prepare_next_tls_key: 'Make the next TLS key on the server',
  publish_next_tlsa: "Publish the next key's TLSA record beside the current one",
  switch_tls_key: 'Switch to the next TLS key once resolvers hold both TLSA records',
  retire_old_tlsa: "Remove the old key's TLSA record",
  sign_with_next_dkim: 'Sign with the next DKIM keys (the previous ones stay published for mail in flight)',
  publish_dns: 'Publish the DNS records',
  activate_zone: 'Wait for the nameservers to point to us',
  set_ptr: 'Set reverse DNS',
  wait_ssh: 'Wait for the server to boot',
  install_mail_stack: 'Install Postfix, Dovecot, Rspamd and webmail',
  harden: 'Harden the server',
  check_network: 'Check the addresses and outbound mail (port 25)',
  restore_tls: 'Put the TLS key back (the DANE record stays valid)',
  issue_tls: 'Issue the TLS certificate',
  publish_tlsa: 'Publish the DANE TLSA record',
  restore_mailboxes: 'Restore the mailboxes and their passwords',
  restore_mail: 'Restore the mail from the backup',
  verify: 'Verify DNS and mail services end to end',
  check_after_change: 'Check the services and files after the change',
  reserve_replacement_ip: 'Reserve a replacement address',
  check_replacement_ip: 'Check the replacement against blacklists',
  attach_replacement_ip: 'Attach the replacement address',
  repoint_dns: 'Point DNS at the new address',
  repoint_ptr: 'Set reverse DNS of the new address',
  release_old_ip: 'Release the old address',
  final_backup: 'Take a final backup (kept for the grace period)',
  delete_dns_records: 'Delete the DNS records',
  delete_server: 'Delete the server',
  release_ips: 'Release the addresses',
};

export const stepLabel = (name: string) => STEP_LABELS[name] ?? name.replaceAll('_', ' ');

export const MARK: Record<string, string> = { succeeded: '✓', failed: '✗', pending: '○', queued: '○', waiting: '⏸' };

export function formatDuration(ms: number | null | undefined): string {
  if (ms == null) return '';
  return ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`;
}
