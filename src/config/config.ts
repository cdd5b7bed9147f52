import { existsSync, readFileSync } from 'node:fs';
import { parse as parseDotenv } from 'dotenv';

export type DatabaseTarget =
  { dialect: 'sqlite'; path: string } | { dialect: 'postgres'; url: string };

export interface Config {
  port: number;
  /** A second port serving only the analytics ingestion routes, when set. */
  analyticsPort: number | undefined;
  /** Analytics posts each workspace may make per minute. */
  analyticsRateLimitPerMinute: number;
  host: string;
  database: DatabaseTarget;
  redisUrl: string | undefined;
  logLevel: LogLevel;
  publicUrl: string | undefined;
  adminEmail: string | undefined;
  adminPassword: string | undefined;
  requestTimeoutMs: number;
  bodyLimitBytes: number;
  /** Request log rows older than this many days are deleted. */
  requestLogRetentionDays: number;
  /** When the process counts as saturated and starts answering 503 at once. */
  overload: OverloadConfig;
}

export interface OverloadConfig {
  /** Mean event-loop delay, in milliseconds, that means saturated; 0 turns it off. */
  maxEventLoopDelayMs: number;
  /** Event-loop utilisation, in percent, that means saturated; 0 turns it off. */
  maxEventLoopUtilizationPercent: number;
  /** How often both are measured. */
  sampleIntervalMs: number;
  /** Requests a second under which a workspace is never shed. */
  quietPerSecond: number;
}

const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export const DEFAULT_DATABASE_URL = 'sqlite:./data/app-center.db';

/** A bad environment value: the message names the variable and what it accepts. */
export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

/**
 * Reads `.env` (when present) under the real environment: variables already set win, as
 * every dotenv loader does, so a deployment can override a checked-in file.
 */
export function loadEnv(cwd = process.cwd(), env: Env = process.env): Env {
  const file = `${cwd}/.env`;
  if (!existsSync(file)) return env;
  return { ...parseDotenv(readFileSync(file)), ...env };
}

export function parseConfig(env: Env): Config {
  const adminEmail = optional(env, 'ADMIN_EMAIL');
  if (adminEmail !== undefined && !/^[^@\s]+@[^@\s]+$/.test(adminEmail)) {
    throw new ConfigError('ADMIN_EMAIL must be an email address');
  }
  const port = integer(env, 'PORT', 8080, 0, 65535);
  return {
    port,
    analyticsPort: analyticsPort(env, port),
    analyticsRateLimitPerMinute: integer(
      env,
      'ANALYTICS_RATE_LIMIT_PER_MINUTE',
      60_000,
      1,
      100_000_000,
    ),
    host: optional(env, 'HOST') ?? '0.0.0.0',
    database: parseDatabaseUrl(optional(env, 'DATABASE_URL') ?? DEFAULT_DATABASE_URL),
    redisUrl: parseRedisUrl(optional(env, 'REDIS_URL')),
    logLevel: logLevel(env),
    publicUrl: parsePublicUrl(optional(env, 'PUBLIC_URL')),
    adminEmail,
    adminPassword: optional(env, 'ADMIN_PASSWORD'),
    requestTimeoutMs: integer(env, 'REQUEST_TIMEOUT_MS', 30_000, 1_000, 600_000),
    bodyLimitBytes: integer(env, 'BODY_LIMIT_BYTES', 10 * 1024 * 1024, 1024, 64 * 1024 * 1024),
    requestLogRetentionDays: integer(env, 'REQUEST_LOG_RETENTION_DAYS', 90, 1, 3650),
    overload: {
      // A 5,000-record list holds the loop for tens of milliseconds and is not overload;
      // timers 200 ms late on average mean requests are waiting in line.
      maxEventLoopDelayMs: integer(env, 'OVERLOAD_EVENT_LOOP_DELAY_MS', 200, 0, 60_000),
      maxEventLoopUtilizationPercent: integer(env, 'OVERLOAD_EVENT_LOOP_UTILIZATION', 0, 0, 100),
      sampleIntervalMs: integer(env, 'OVERLOAD_SAMPLE_INTERVAL_MS', 1_000, 10, 10_000),
      quietPerSecond: integer(env, 'OVERLOAD_QUIET_PER_SECOND', 10, 0, 1_000_000),
    },
  };
}

export function parseDatabaseUrl(value: string): DatabaseTarget {
  if (value.startsWith('sqlite:')) {
    const path = value.slice('sqlite:'.length);
    if (path === '') throw new ConfigError('DATABASE_URL sqlite: needs a file path');
    return { dialect: 'sqlite', path };
  }
  if (/^postgres(ql)?:\/\//.test(value)) {
    if (!URL.canParse(value)) throw new ConfigError('DATABASE_URL is not a valid postgres URL');
    return { dialect: 'postgres', url: value };
  }
  throw new ConfigError('DATABASE_URL must be sqlite:PATH or postgres://USER@HOST:PORT/DATABASE');
}

function analyticsPort(env: Env, port: number): number | undefined {
  if (optional(env, 'ANALYTICS_PORT') === undefined) return undefined;
  const value = integer(env, 'ANALYTICS_PORT', 0, 0, 65535);
  if (value !== 0 && value === port) {
    throw new ConfigError('ANALYTICS_PORT must differ from PORT');
  }
  return value;
}

function parseRedisUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^rediss?:\/\//.test(value) || !URL.canParse(value)) {
    throw new ConfigError('REDIS_URL must be a redis:// or rediss:// URL');
  }
  return value;
}

function parsePublicUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!/^https?:\/\//.test(value) || !URL.canParse(value)) {
    throw new ConfigError('PUBLIC_URL must be an http:// or https:// URL');
  }
  return value.replace(/\/+$/, '');
}

function logLevel(env: Env): LogLevel {
  const value = optional(env, 'LOG_LEVEL') ?? 'info';
  const level = LOG_LEVELS.find((candidate) => candidate === value);
  if (level === undefined) {
    throw new ConfigError(`LOG_LEVEL must be one of ${LOG_LEVELS.join(', ')}`);
  }
  return level;
}

function integer(env: Env, name: string, fallback: number, min: number, max: number): number {
  const value = optional(env, name);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!/^\d+$/.test(value) || parsed < min || parsed > max) {
    throw new ConfigError(`${name} must be an integer from ${min} to ${max}`);
  }
  return parsed;
}

function optional(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value === undefined || value === '' ? undefined : value;
}
