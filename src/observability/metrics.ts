import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** One registry per app, so tests that build many apps never share counters. */
export class Metrics {
  readonly registry = new Registry();

  readonly requests = new Counter({
    name: 'app_center_requests_total',
    help: 'HTTP requests by operation and status',
    labelNames: ['operation', 'status'] as const,
    registers: [this.registry],
  });

  readonly duration = new Histogram({
    name: 'app_center_request_duration_seconds',
    help: 'HTTP request duration by operation',
    labelNames: ['operation'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });

  readonly dbPool = new Gauge({
    name: 'app_center_db_pool_connections',
    help: 'PostgreSQL pool connections by state (absent on SQLite)',
    labelNames: ['state'] as const,
    registers: [this.registry],
  });

  constructor() {
    // Includes nodejs_eventloop_lag_seconds and the event-loop delay percentiles.
    collectDefaultMetrics({ register: this.registry, eventLoopMonitoringPrecision: 20 });
  }
}
