import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadEnv, parseConfig } from '../../src/config/config.js';

describe('configuration', () => {
  it('defaults to port 8080 on the embedded SQLite file', () => {
    const config = parseConfig({});
    expect(config.port).toBe(8080);
    expect(config.database).toEqual({ dialect: 'sqlite', path: './data/app-center.db' });
    expect(config.redisUrl).toBeUndefined();
    expect(config.logLevel).toBe('info');
  });

  it('selects SQLite paths and PostgreSQL URLs', () => {
    expect(parseConfig({ DATABASE_URL: 'sqlite:/tmp/x.db' }).database).toEqual({
      dialect: 'sqlite',
      path: '/tmp/x.db',
    });
    expect(parseConfig({ DATABASE_URL: 'postgres://u@h:5432/d' }).database).toEqual({
      dialect: 'postgres',
      url: 'postgres://u@h:5432/d',
    });
  });

  it.each([
    ['PORT', 'eighty', /PORT must be an integer from 0 to 65535/],
    ['PORT', '70000', /PORT/],
    ['DATABASE_URL', 'mysql://x', /DATABASE_URL must be sqlite:PATH or postgres:/],
    ['DATABASE_URL', 'sqlite:', /DATABASE_URL sqlite: needs a file path/],
    ['REDIS_URL', 'localhost:6379', /REDIS_URL must be a redis:\/\//],
    ['LOG_LEVEL', 'loud', /LOG_LEVEL must be one of fatal, error/],
    ['PUBLIC_URL', 'example.com', /PUBLIC_URL must be an http/],
    ['ADMIN_EMAIL', 'nobody', /ADMIN_EMAIL must be an email/],
  ])('refuses %s=%s naming the variable', (name, value, message) => {
    expect(() => parseConfig({ [name]: value })).toThrow(ConfigError);
    expect(() => parseConfig({ [name]: value })).toThrow(message);
  });

  it('reads .env under the real environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'app-center-env-'));
    writeFileSync(join(dir, '.env'), 'PORT=9090\nLOG_LEVEL=debug\n');
    const env = loadEnv(dir, { LOG_LEVEL: 'warn' });
    expect(parseConfig(env)).toMatchObject({ port: 9090, logLevel: 'warn' });
  });
});
