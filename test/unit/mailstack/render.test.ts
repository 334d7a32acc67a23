/**
 * Golden files pin the whole tree rendered for a sample server: a change to a
 * template shows up as a reviewed diff (`npx vitest run -u` rewrites them).
 */
import { describe, expect, it } from 'vitest';
import { renderServerTree } from '../../../src/mailstack/render.ts';
import { sampleServer } from './sample-server.ts';

describe('renderServerTree', () => {
  const files = renderServerTree(sampleServer());

  it('renders the same tree as the golden files for the sample server', async () => {
    await expect(files.map((f) => `${f.mode.toString(8).padStart(4, '0')} ${f.path}`).join('\n') + '\n').toMatchFileSnapshot('golden/MANIFEST');
    for (const file of files) {
      await expect(file.content).toMatchFileSnapshot(`golden${file.path}`);
    }
  });

  it('leaves no placeholder unrendered', () => {
    for (const file of files) expect(file.content, file.path).not.toMatch(/\{\{|\}\}/);
  });

  it('keeps secrets readable by their owner only', () => {
    const secret = files.filter((f) => f.path.endsWith('.key'));
    expect(secret.map((f) => f.path)).toEqual(['/etc/mailplane/webmail/hmac.key', '/var/lib/rspamd/dkim/example.com.mp2024.key']);
    for (const file of secret) expect(file.mode, file.path).toBe(0o600);
  });

  it('uploads every script the provisioning steps run', () => {
    const scripts = files.filter((f) => f.path.startsWith('/opt/mailplane/bin/')).map((f) => f.path.slice('/opt/mailplane/bin/'.length));
    expect(scripts).toEqual(
      expect.arrayContaining(['install-mail-stack.sh', 'harden.sh', 'issue-tls.sh', 'tls-spki.sh', 'verify-services.sh', 'apply-mailboxes.sh']),
    );
    for (const file of files.filter((f) => f.path.endsWith('.sh'))) {
      expect(file.mode, file.path).toBe(0o755);
      expect(file.content, file.path).toMatch(/^#!\/usr\/bin\/env bash\n(#.*\n)*set -euo pipefail\n/);
    }
  });

  it('is deterministic', () => {
    expect(renderServerTree(sampleServer())).toEqual(files);
  });
});
