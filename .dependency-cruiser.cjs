/**
 * The architecture's import boundaries, checked in CI (`npm run check:boundaries`):
 * no import circle; domain code never imports the composition root; providers import no
 * domain; only the composition root (and the CLI/entry points) picks the sandbox emulators.
 */
const COMPOSITION_ROOT = '^src/(app-context|app-routes|workers|main|provider-set)\\.ts$';
const ENTRY_POINTS = '^src/(cli/|main\\.ts|app-context\\.ts|app-routes\\.ts|workers\\.ts|provider-set\\.ts)';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle makes the order of module evaluation matter and the layers meaningless.',
      from: { path: '^(src|provisioning)/' },
      to: { circular: true },
    },
    {
      name: 'domain-not-composition-root',
      severity: 'error',
      comment: 'Domain code receives its dependencies; it never reaches for the composition root.',
      from: { path: '^(src|provisioning)/', pathNot: ENTRY_POINTS },
      to: { path: COMPOSITION_ROOT },
    },
    {
      name: 'providers-import-no-domain',
      severity: 'error',
      comment: 'Providers are adapters to the outside (Scaleway, Cloudflare, Stripe, SSH, DNS, S3): they know no domain.',
      from: { path: '^src/providers/' },
      to: { path: '^(provisioning/|src/)', pathNot: '^src/(providers/|errors\\.ts|clock\\.ts|log\\.ts)' },
    },
    {
      name: 'emulators-only-from-composition-root',
      severity: 'error',
      comment: 'Whether a provider is real or emulated is decided once, by the composition root.',
      from: { path: '^(src|provisioning)/', pathNot: `${ENTRY_POINTS}|^src/sandbox/` },
      to: { path: '^src/sandbox/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
