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
          env: { TEST_DATABASE_URL: '' },
        },
      },
      ...(postgresUrl === ''
        ? []
        : [
            {
              extends: true,
              test: {
                name: 'postgres',
                include: ['test/**/*.test.ts'],
                exclude: DIALECT_FREE,
                env: { TEST_DATABASE_URL: postgresUrl },
              },
            },
          ]),
    ],
  },
});
