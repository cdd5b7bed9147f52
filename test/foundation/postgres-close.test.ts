import { describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/database.js';
import { TEST_DIALECT } from '../helpers/test-database.js';

describe.runIf(TEST_DIALECT === 'postgres')('closing a PostgreSQL database', () => {
  it('ends a pool that only raw queries used, so nothing keeps the process alive', async () => {
    const database = openDatabase({
      dialect: 'postgres',
      url: process.env.TEST_DATABASE_URL ?? '',
    });
    const pool = database.pool;
    await pool?.query('select 1');
    expect(pool?.totalCount).toBe(1);

    await database.close();

    expect(pool?.ended).toBe(true);
    expect(pool?.totalCount).toBe(0);
  });

  it('ends a pool that Kysely used, once', async () => {
    const database = openDatabase({
      dialect: 'postgres',
      url: process.env.TEST_DATABASE_URL ?? '',
    });
    await database.db.selectNoFrom((eb) => eb.val(1).as('one')).execute();

    await expect(database.close()).resolves.toBeUndefined();
    expect(database.pool?.ended).toBe(true);
  });
});
