import type { Database } from '../db/database.js';
import {
  LocalRevocationBus,
  PostgresRevocationBus,
  SqliteRevocationBus,
  type RevocationBus,
} from '../tokens/revocation-bus.js';

/**
 * The command line changes the database under running servers, so its revocations must
 * reach them: through the SQLite revocations table, or PostgreSQL NOTIFY.
 */
export function commandLineRevocations(database: Database): RevocationBus {
  if (database.sqlite !== undefined) return new SqliteRevocationBus(database.sqlite);
  if (database.pool !== undefined) {
    return new PostgresRevocationBus(database.pool, () => {});
  }
  return new LocalRevocationBus();
}
