/**
 * A session whose connection has closed refuses every later command as unreachable, and the SSH
 * library's own refusal of the command it was handed ("Not connected to server") is observed: left
 * unobserved it is an unhandled rejection, which ends a worker process (seen in a health run racing
 * a workspace erasure).
 */
import { EventEmitter } from 'node:events';
import type { NodeSSH } from 'node-ssh';
import { afterEach, expect, it } from 'vitest';
import { SshUnreachableError } from '../../../src/providers/ssh/interface.ts';
import { NodeSshSession } from '../../../src/providers/ssh/node-ssh.ts';

const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => void unhandled.push(reason);
afterEach(() => {
  process.off('unhandledRejection', onUnhandled);
});

it('refuses a command on a closed connection without leaving the library promise unobserved', async () => {
  process.on('unhandledRejection', onUnhandled);
  const connection = new EventEmitter();
  const ssh = { execCommand: async () => Promise.reject(new Error('Not connected to server')) } as unknown as NodeSSH;
  const target = { host: '192.0.2.10', port: 22, username: 'mailplane', privateKey: 'unused', hostKeyFingerprint: 'SHA256:unused' };
  const session = new NodeSshSession(ssh, connection as unknown as NonNullable<NodeSSH['connection']>, target, () => {});
  connection.emit('close');
  await expect(session.exec('hostname')).rejects.toBeInstanceOf(SshUnreachableError);
  await new Promise((resolve) => setTimeout(resolve, 20));
  expect(unhandled).toEqual([]);
});
