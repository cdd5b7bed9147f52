import { parseArgs } from 'node:util';
import { ConfigError, loadEnv, parseConfig, type Config } from '../config/config.js';
import { openDatabase, type Database } from '../db/database.js';
import { migrateToLatest, MigrationError } from '../db/migrate.js';
import { AppError } from '../shared/errors.js';
import { initWorkspace } from '../workspaces/workspace.service.js';
import { runAppsCommand, runTokensCommand } from './apps-command.js';
import { runLogsCommand } from './logs-command.js';

const USAGE = `Usage: app-center <command> [options]

Commands:
  serve [--workers N]        Run the server on N processes (default: one per core)
  migrate                    Apply pending database migrations
  init --workspace NAME --email EMAIL [--password P] [--json]
                             Create a workspace, its default roles and a first Administrator
  apps create --workspace ID --name NAME [--copy-from role:NAME|app:ID]
              [--allow Model:action,...] [--json]
  apps list --workspace ID [--json]
  apps enable|disable|delete --workspace ID --app ID
  tokens create --workspace ID --app ID [--label L] [--expires-in DURATION] [--json]
  tokens list --workspace ID --app ID [--json]
  tokens delete --workspace ID --app ID --token ID
  tokens rotate --workspace ID --app ID --token ID [--grace DURATION] [--json]
  logs --app ID [--workspace ID] [--since DURATION] [--status 2xx|4xx|5xx|CODE]
       [--limit N] [--follow] [--json]
                             An app's API requests, newest first; --follow keeps printing

Configuration comes from the environment (and .env): see the README.`;

export interface Output {
  out(line: string): void;
  err(line: string): void;
}

const STDIO: Output = {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
};

/** Runs one CLI command; resolves to the process exit code. */
export async function main(argv: string[], io: Output = STDIO): Promise<number> {
  const [command, ...rest] = argv;
  let config: Config;
  try {
    config = parseConfig(loadEnv());
  } catch (error) {
    if (error instanceof ConfigError) {
      io.err(`app-center: ${error.message}`);
      return 2;
    }
    throw error;
  }

  try {
    switch (command) {
      case 'serve': {
        const { serveCommand } = await import('./serve-command.js');
        return await serveCommand(rest, config);
      }
      case 'migrate': {
        const database = openDatabase(config.database);
        try {
          const applied = await migrateToLatest(database);
          io.out(applied.length === 0 ? 'Up to date' : `Applied ${applied.join(', ')}`);
          return 0;
        } finally {
          await database.close();
        }
      }
      case 'init':
        return await withDatabase(config, (database) => initCommand(rest, database, io));
      case 'apps':
        return await withDatabase(config, (database) => runAppsCommand(rest, database, io));
      case 'tokens':
        return await withDatabase(config, (database) => runTokensCommand(rest, database, io));
      case 'logs':
        return await withDatabase(config, (database) => runLogsCommand(rest, database, io));
      case undefined:
      case 'help':
      case '--help':
        io.out(USAGE);
        return command === undefined ? 2 : 0;
      default:
        io.err(`app-center: unknown command ${command}\n\n${USAGE}`);
        return 2;
    }
  } catch (error) {
    return reportFailure(error, io);
  }
}

function reportFailure(error: unknown, io: Output): number {
  if (error instanceof MigrationError) {
    const cause = error.cause instanceof Error ? `: ${error.cause.message}` : '';
    io.err(`app-center: ${error.message}${cause}`);
    return 1;
  }
  if (error instanceof AppError || error instanceof UsageError) {
    io.err(`app-center: ${error.message}`);
    return error instanceof UsageError ? 2 : 1;
  }
  if (error instanceof Error && 'code' in error && typeof error.code === 'string') {
    io.err(`app-center: ${error.message}`);
    return 1;
  }
  throw error;
}

/** Bad command-line input: printed with exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export async function withDatabase(
  config: Config,
  run: (database: Database) => Promise<number>,
): Promise<number> {
  const database = openDatabase(config.database);
  try {
    await migrateToLatest(database);
    return await run(database);
  } finally {
    await database.close();
  }
}

export function parseOptions<T extends Record<string, { type: 'string' | 'boolean' }>>(
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? error.message : String(error));
  }
}

export function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

async function initCommand(args: string[], database: Database, io: Output): Promise<number> {
  const { values } = parseOptions(args, {
    workspace: { type: 'string' },
    email: { type: 'string' },
    password: { type: 'string' },
    json: { type: 'boolean' },
  });
  const email = required(values, 'email');
  if (!/^[^@\s]+@[^@\s]+$/.test(email)) throw new UsageError('--email must be an email address');
  if (values.password !== undefined && values.password.length < 12) {
    throw new UsageError('--password must be at least 12 characters');
  }
  const result = await initWorkspace(database.db, {
    workspaceName: required(values, 'workspace'),
    adminEmail: email,
    ...(values.password === undefined ? {} : { adminPassword: values.password }),
  });
  if (values.json === true) {
    io.out(
      JSON.stringify({
        workspace: {
          id: result.workspace.id,
          name: result.workspace.name,
          tenantToken: result.workspace.tenantToken,
        },
        admin: {
          id: result.admin.id,
          email: result.admin.email,
          ...(result.admin.password === undefined ? {} : { password: result.admin.password }),
        },
      }),
    );
    return 0;
  }
  io.out(`Workspace ${result.workspace.name} (${result.workspace.id})`);
  io.out(`Administrator ${result.admin.email}`);
  if (result.admin.password !== undefined) {
    io.out(`Password ${result.admin.password}   (shown only this once)`);
  }
  return 0;
}
