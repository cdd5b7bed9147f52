import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Every data-access and API suite runs on SQLite, and again on PostgreSQL when
// TEST_DATABASE_URL names a database. Pure unit suites and the browser suite run once.
const postgresUrl = process.env.TEST_DATABASE_URL ?? '';
const DIALECT_FREE = [
  'test/records/model-catalogue.test.ts',
  'test/records/record-validation.test.ts',
  'test/records/field-rules.test.ts',
  'test/analytics/*-payload.test.ts',
  'test/unit/**',
  'test/e2e/**',
];

// Suites that drive real server processes under load and measure time, or kill them:
// they run after everything else, one file at a time per database, so the rest of the
// suite's load cannot starve them into false failures.
const PROCESS_SUITES = [
  'test/reliability/**/*.test.ts',
  'test/server/**/*.test.ts',
  'test/request-log/server-process.test.ts',
];

// The browser suite drives Debian's Chromium. CI installs it and always runs the suite; on a
// machine without it, the suite is left out with a notice rather than failing everything.
const withBrowser = existsSync('/usr/bin/chromium') || process.env.CI === 'true';
if (!withBrowser) {
  process.stderr.write(
    'Browser tests left out: /usr/bin/chromium is missing (apt-get install -y chromium).\n',
  );
}

export default defineConfig({
  test: {
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    projects: [
      {
        extends: true,
        test: {
          name: 'sqlite',
          include: ['test/**/*.test.ts'],
          exclude: [...PROCESS_SUITES, ...(withBrowser ? [] : ['test/e2e/**'])],
          env: { TEST_DATABASE_URL: '' },
        },
      },
      {
        extends: true,
        test: {
          name: 'sqlite-processes',
          include: PROCESS_SUITES,
          env: { TEST_DATABASE_URL: '' },
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
      ...(postgresUrl === ''
        ? []
        : [
            {
              extends: true as const,
              test: {
                name: 'postgres',
                include: ['test/**/*.test.ts'],
                exclude: [...DIALECT_FREE, ...PROCESS_SUITES],
                env: { TEST_DATABASE_URL: postgresUrl },
              },
            },
            {
              extends: true as const,
              test: {
                name: 'postgres-processes',
                include: PROCESS_SUITES,
                env: { TEST_DATABASE_URL: postgresUrl },
                maxWorkers: 1,
                sequence: { groupOrder: 2 },
              },
            },
          ]),
    ],
  },
});
