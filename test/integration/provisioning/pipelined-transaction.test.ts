/**
 * The engine's pipelined transaction (provisioning/engine-transaction.ts): BEGIN is sent with the
 * first statements instead of a round trip ahead of them, and it is still one transaction: all or
 * nothing, invisible to others until it commits, and its connection given back either way. On the
 * real test database.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { inPipelinedTransaction } from '../../../provisioning/engine-transaction.ts';
import { openDatabase, type Database } from '../../../src/db/client.ts';
import { workspaces } from '../../../src/db/schema/index.ts';
import { createTestDatabase, type TestDatabase } from '../../support/db.ts';

let database: TestDatabase;
/** A pool of one connection: a transaction that kept its connection would block the next. */
let single: Database;

beforeAll(async () => {
  database = await createTestDatabase();
  single = openDatabase(database.url, { max: 1 });
});
afterAll(async () => {
  await single?.close();
  await database?.close();
});

class Boom extends Error {}
const named = async (name: string) => (await database.db.select().from(workspaces).where(eq(workspaces.name, name))).length;

describe('inPipelinedTransaction', () => {
  it('commits every statement, the first ones sent with BEGIN, and none is seen before the commit', async () => {
    const [a, b] = [`ws ${randomUUID()}`, `ws ${randomUUID()}`];
    await inPipelinedTransaction(single, async (tx, raw) => {
      // Sent at once, behind BEGIN, before its answer.
      await Promise.all([raw`insert into workspaces (name) values (${a})`, tx.insert(workspaces).values({ name: b })]);
      expect(await named(a)).toBe(0);
      expect(await named(b)).toBe(0);
      // The inserts' transaction is still open on this connection (an autocommitted select would have no id).
      const [row] = await raw<{ open: boolean }[]>`select txid_current_if_assigned() is not null as open`;
      expect(row?.open).toBe(true);
    });
    expect(await named(a)).toBe(1);
    expect(await named(b)).toBe(1);
  });

  it('rolls back the statements sent with BEGIN when a later one fails, and when the callback throws', async () => {
    const [a, b] = [`ws ${randomUUID()}`, `ws ${randomUUID()}`];
    await expect(
      inPipelinedTransaction(single, async (_tx, raw) => {
        await Promise.all([raw`insert into workspaces (name) values (${a})`, raw`select 1/0`]);
      }),
    ).rejects.toThrow(/division by zero/);
    await expect(
      inPipelinedTransaction(single, async (_tx, raw) => {
        await raw`insert into workspaces (name) values (${b})`;
        throw new Boom();
      }),
    ).rejects.toBeInstanceOf(Boom);
    expect(await named(a)).toBe(0);
    expect(await named(b)).toBe(0);
    // The one connection came back, out of any transaction: this commits on its own.
    const c = `ws ${randomUUID()}`;
    await inPipelinedTransaction(single, async (_tx, raw) => void (await raw`insert into workspaces (name) values (${c})`));
    expect(await named(c)).toBe(1);
  });
});
