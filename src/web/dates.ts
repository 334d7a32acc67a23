/**
 * One way to show a moment on every page: `2026-12-07 13:45 UTC` (the servers, their logs and
 * the audit trail are in UTC, and a person comparing them should not convert), and `2026-12-07`
 * for a day (an invoice, the end of a grace period).
 */
export function when(at: Date | string | null | undefined): string {
  if (at == null) return '—';
  const iso = typeof at === 'string' ? new Date(at).toISOString() : at.toISOString();
  return `${iso.slice(0, 16).replace('T', ' ')} UTC`;
}

export function day(at: Date | string | null | undefined): string {
  if (at == null) return '—';
  return (typeof at === 'string' ? new Date(at).toISOString() : at.toISOString()).slice(0, 10);
}
