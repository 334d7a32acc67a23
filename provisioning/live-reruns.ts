/**
 * What re-running a step does to a live (ready) server, said before support clicks, and which
 * steps make no sense there. Steps are idempotent, but some are idempotent only while the run is
 * building the server: on a live one they would reserve addresses it does not need, release or
 * swap the addresses its DNS points at, or start a second instance. Those are refused (409); the
 * remedy for a live server is named instead (rotate an IP, rebuild).
 */
export interface LiveRerun {
  /** What a re-run does to a server that is serving mail. */
  effect: string;
  /** Refused on a ready server, and why. */
  refused?: string;
}

const REFUSED_IP = 'a live server keeps its addresses; to replace a listed one, rotate that IP (ops)';

export const LIVE_RERUNS: Record<string, LiveRerun> = {
  allocate_ips: { effect: 'Would reserve new addresses.', refused: REFUSED_IP },
  check_blacklists: { effect: 'Would release a listed address and reserve another, under a server that uses it.', refused: REFUSED_IP },
  create_server: { effect: 'Would start a second instance for the same server.', refused: 'the server exists and runs; to replace its instance, rebuild it' },
  generate_dkim: { effect: 'Keeps the existing key (it only creates a missing one). Key changes go through DKIM rotation.' },
  publish_dns: { effect: "Publishes mailplane's records again: any that were deleted or changed are put back. No mail interruption." },
  activate_zone: { effect: 'Checks the nameservers again; changes nothing while they point at the zone.' },
  set_ptr: { effect: 'Sets reverse DNS of both addresses to the host name again. No interruption.' },
  wait_ssh: { effect: 'Checks that SSH answers with the pinned host key; changes nothing.' },
  install_mail_stack: {
    effect: 'Renders and uploads the mail stack again and reloads the services: connections in progress may be dropped for a few seconds.',
  },
  harden: { effect: 'Applies the sshd, firewall, fail2ban and upgrade settings again; changes nothing that is already as rendered.' },
  check_network: { effect: 'Checks the addresses and outbound port 25; changes nothing.' },
  issue_tls: { effect: 'Renews the certificate only if it is missing or due, with the same key (TLSA stays valid).' },
  publish_tlsa: { effect: 'Publishes the TLSA record from the current key again.' },
  verify: { effect: 'Runs the end-to-end checks (DNS, SMTP banner, STARTTLS, IMAP TLS); changes nothing.' },
  reserve_replacement_ip: { effect: 'Would reserve yet another address.', refused: 'the rotation is over; start a new rotation instead' },
  check_replacement_ip: { effect: 'Would check (and perhaps swap) an address already in use.', refused: 'the rotation is over; start a new rotation instead' },
  attach_replacement_ip: { effect: 'Would attach an address already attached.', refused: 'the rotation is over; start a new rotation instead' },
  repoint_dns: { effect: 'Points the A/AAAA and SPF records at the addresses the server holds again.' },
  repoint_ptr: { effect: 'Sets reverse DNS of the addresses the server holds again.' },
  release_old_ip: { effect: 'The old address is released already; nothing to do.', refused: 'the rotation is over; nothing is left to release' },
  // Rebuild, after it finished: the new instance is the one serving mail.
  backup_before_rebuild: { effect: 'Takes another backup of the server now. No interruption.' },
  retire_instance: { effect: 'The old instance is gone already.', refused: 'the rebuild is over; to replace the instance again, start a new rebuild' },
  repoint_addresses: { effect: 'Checks that the addresses and their reverse DNS point at this instance again. No interruption.' },
  restore_tls: { effect: 'Puts the TLS key from the vault on the server again: the same key, so TLSA stays valid.' },
  restore_mailboxes: { effect: "Creates any missing mailbox again from the control plane's list; existing mail is untouched." },
  restore_mail: {
    effect: "Would restore the rebuild's snapshot over mail received since.",
    refused: 'the rebuild is over; restore a mailbox from the backups page instead (it adds, never overwrites)',
  },
  // Key rotations, after they finished: the keys have moved on since.
  generate_next_dkim: { effect: 'Would start another DKIM key.', refused: 'the rotation is over; start a new DKIM rotation instead' },
  publish_next_dkim: { effect: 'Publishes the DKIM records of the current keys again. No interruption.' },
  confirm_next_dkim: { effect: 'Reads the DKIM record back through a resolver; changes nothing.' },
  sign_with_next_dkim: {
    effect: 'Would switch signing to a key that may since have been replaced.',
    refused: 'the rotation is over; start a new DKIM rotation instead',
  },
  prepare_next_tls_key: { effect: 'Would make another TLS key.', refused: 'the rollover is over; start a new TLS key rollover instead' },
  publish_next_tlsa: { effect: 'Would publish a TLSA record for a key already in use.', refused: 'the rollover is over; start a new TLS key rollover instead' },
  switch_tls_key: { effect: 'Would switch the TLS key again.', refused: 'the rollover is over; start a new TLS key rollover instead' },
  retire_old_tlsa: { effect: 'The old TLSA record is gone already.', refused: 'the rollover is over; nothing is left to retire' },
  // Upgrade (a rollout's run), after it finished.
  backup_before_change: { effect: 'Takes another backup of the server now. No interruption.' },
  check_after_change: { effect: 'Checks the services again; changes nothing.' },
};

/**
 * The refusal for re-running `step` of a run in `runStatus` on a server in `serverStatus`, or null
 * when it may run. Only a finished run of a live server: a failed rotation leaves the server ready,
 * and re-running its failed step is how support finishes it.
 */
export function liveRerunRefusal(serverStatus: string, runStatus: string, step: string): string | null {
  if (serverStatus !== 'ready' || runStatus !== 'succeeded') return null;
  const refused = LIVE_RERUNS[step]?.refused;
  return refused ? `${step} is not re-run on a live server: ${refused}.` : null;
}
