/**
 * The SSH emulator's reading of a command that the adapter sent through sudo: what the adapter
 * writes (asRoot) is what the emulator runs, whatever quotes the command holds, and nothing
 * else passes for sudo.
 */
import { describe, expect, it } from 'vitest';
import { asRoot } from '../../../src/providers/ssh/node-ssh.ts';
import { unwrapSudo } from '../../../src/sandbox/ssh/accounts.ts';

describe('sudo as the adapter sends it', () => {
  it('round-trips any command through asRoot and unwrapSudo', () => {
    for (const command of ['hostname', "echo 'a b' | tr a-z A-Z", "it's", "''", "a'\\''b", 'bash -s', "timeout 10 bash -c 'exec 3<>/dev/tcp/mx.example/25'"]) {
      expect(unwrapSudo(asRoot(command, 'mailplane'))).toBe(command);
    }
  });

  it("leaves root's commands alone and takes nothing else for sudo", () => {
    expect(asRoot('hostname', 'root')).toBe('hostname');
    for (const sent of ['hostname', 'sudo hostname', "sudo -- bash -c 'id -u'", "sudo -n -- bash -c 'id -u' ; rm -rf /", "sudo -n -- bash -c 'a'b'"]) {
      expect(unwrapSudo(sent)).toBeNull();
    }
  });
});
