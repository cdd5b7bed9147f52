import type { Database } from '../db/database.js';
import {
  LocalRevocationBus,
  PostgresRevocationBus,
  SqliteRevocationBus,
  type RevocationBus,
} from '../tokens/revocation-bus.js';

/**
 * The command line changes the database under running servers, so its revocations must
 * reach them before it exits: through the SQLite revocations table, or PostgreSQL NOTIFY
 * with every server's acknowledgement. The bus is closed when `run` ends.
 */
export async function withCommandLineRevocations(
  database: Database,
  run: (bus: RevocationBus) => Promise<number>,
): Promise<number> {
  const bus = await commandLineRevocations(database);
  try {
    return await run(bus);
  } finally {
    await bus.close();
  }
}

async function commandLineRevocations(database: Database): Promise<RevocationBus> {
  if (database.sqlite !== undefined) return new SqliteRevocationBus(database.sqlite);
  if (database.pool !== undefined) {
    const bus = new PostgresRevocationBus(
      database.pool,
      (error) => process.stderr.write(`app-center: revocation bus: ${error.message}\n`),
      database.schema,
    );
    await bus.start();
    return bus;
  }
  return new LocalRevocationBus();
}
