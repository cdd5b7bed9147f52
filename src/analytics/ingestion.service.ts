import { setImmediate as nextTurn } from 'node:timers/promises';
import type { ActivityLinker, Person } from './activity-linker.js';
import { readActivityOrRefusal, type NormalizedActivity } from './activity-payload.js';
import type { ActivityRow, AnalyticsWriter, MetricRow } from './analytics.repository.js';
import { normalizeMetric, type NormalizedMetric } from './dimension-payload.js';
import type { MetricLinker } from './metric-linker.js';
import { parseBatch, type ReadLimits, type ScannedBody } from './json-stream.js';
import { isRecord } from './payload-fields.js';
import { mapSegmentEvent } from './segment-payload.js';

/** Planhat's limits: 32 MB a body, and writes in batches no larger than a bulk upsert. */
export const INGESTION_LIMITS: ReadLimits = {
  maxBytes: 32 * 1024 * 1024,
  batchItems: 5_000,
  batchBytes: 4 * 1024 * 1024,
  maxItemBytes: 1024 * 1024,
};

/** Body bytes all ingestion requests together may hold: eight full-size posts. */
export const MAX_BUFFERED_BYTES = 8 * INGESTION_LIMITS.maxBytes;

/** Beyond this many failed items, only their number is reported. */
export const MAX_REPORTED_ERRORS = 1_000;

export interface ItemError {
  /** The item as sent; null when it was too large to read. */
  item: unknown;
  error: string;
}

/**
 * What a data-sink post answers. `processed` counts every item read, failed ones
 * included, as Planhat counts them; `stored` those written.
 */
export interface IngestionReport {
  processed: number;
  stored: number;
  errors: ItemError[];
  /** Failed items left out of `errors` once it holds MAX_REPORTED_ERRORS. */
  omittedErrors?: number;
}

/** The rows of one batch, and who each is about (persons without a row: identify calls). */
interface Batch<Row> {
  rows: Row[];
  people: Person[];
  identified: Person[];
}

/** Adds one item to the batch, or returns the message refusing it. */
type Convert<Row> = (raw: unknown, batch: Batch<Row>) => string | undefined;

/**
 * Stores posted activities and metrics, batch by batch: each batch is parsed, normalised,
 * matched to end users and companies, and written in one transaction, and the event loop
 * gets a turn before the next one. The report is returned only once every batch is
 * committed.
 */
export class IngestionService {
  private readonly linker: ActivityLinker | undefined;
  private readonly metricLinker: MetricLinker | undefined;

  /** Without linkers, rows are stored as sent, matched to no record. */
  constructor(
    private readonly writer: AnalyticsWriter,
    linkers: { activities: ActivityLinker; metrics: MetricLinker } | undefined = undefined,
  ) {
    this.linker = linkers?.activities;
    this.metricLinker = linkers?.metrics;
  }

  ingestActivities(workspaceId: string, body: ScannedBody, receivedAt: Date) {
    return this.ingest(
      body,
      (raw, batch: Batch<ActivityRow>) => {
        const activity = readActivityOrRefusal(raw, receivedAt);
        if (typeof activity === 'string') return activity;
        batch.rows.push(toActivityRow(activity));
        batch.people.push(activity);
        return undefined;
      },
      (batch) => this.writeActivities(workspaceId, receivedAt, batch),
    );
  }

  ingestMetrics(workspaceId: string, body: ScannedBody, receivedAt: Date) {
    return this.ingest(
      body,
      (raw, batch: Batch<MetricRow>) => {
        const result = normalizeMetric(raw, receivedAt);
        if (!result.ok) return result.error;
        batch.rows.push(toMetricRow(result.metric));
        return undefined;
      },
      async ({ rows }) => {
        await this.metricLinker?.link(workspaceId, rows);
        await this.writer.insertMetrics(workspaceId, receivedAt.getTime(), rows);
      },
    );
  }

  /**
   * Segment `track` events become activities; `identify` events store no activity but
   * create the end user they name, on the same rules as activities.
   */
  ingestSegment(workspaceId: string, body: ScannedBody, receivedAt: Date) {
    return this.ingest(
      body,
      (raw, batch: Batch<ActivityRow>) => {
        const result = mapSegmentEvent(raw, receivedAt);
        if (!result.ok) return result.error;
        if (result.kind === 'identify') {
          batch.identified.push(result.endUser);
        } else {
          batch.rows.push(toActivityRow(result.activity));
          batch.people.push(result.activity);
        }
        return undefined;
      },
      (batch) => this.writeActivities(workspaceId, receivedAt, batch),
      segmentBatch,
    );
  }

  private async writeActivities(workspaceId: string, receivedAt: Date, batch: Batch<ActivityRow>) {
    const { rows, people, identified } = batch;
    if (this.linker !== undefined && identified.length > 0) {
      await this.linker.identify(workspaceId, identified);
    }
    if (rows.length === 0) return;
    const touches =
      this.linker === undefined ? [] : await this.linker.link(workspaceId, people, rows);
    await this.writer.insertActivities(workspaceId, receivedAt.getTime(), rows, touches);
  }

  private async ingest<Row>(
    body: ScannedBody,
    convert: Convert<Row>,
    write: (batch: Batch<Row>) => Promise<void>,
    unwrap: (items: unknown[], body: ScannedBody) => unknown[] = (items) => items,
  ): Promise<IngestionReport> {
    const report = new ReportBuilder();

    for (const [index, batch] of body.batches.entries()) {
      if (index > 0) await nextTurn();
      if (batch.oversize) {
        report.processed += 1;
        report.fail(null, `item must be at most ${INGESTION_LIMITS.maxItemBytes} bytes as JSON`);
        continue;
      }

      const converted: Batch<Row> = { rows: [], people: [], identified: [] };
      const items = unwrap(parseBatch(body.body, batch), body);
      report.processed += items.length;
      for (const raw of items) {
        const refusal = convert(raw, converted);
        if (refusal !== undefined) report.fail(raw, refusal);
      }
      if (converted.rows.length > 0 || converted.identified.length > 0) await write(converted);
      report.stored += converted.rows.length;
    }

    return report.build();
  }
}

class ReportBuilder {
  /** Every item read, failed ones included. */
  processed = 0;
  stored = 0;
  private readonly errors: ItemError[] = [];
  private omitted = 0;

  fail(item: unknown, error: string): void {
    if (this.errors.length < MAX_REPORTED_ERRORS) this.errors.push({ item, error });
    else this.omitted += 1;
  }

  build(): IngestionReport {
    const { processed, stored, errors } = this;
    const report: IngestionReport = { processed, stored, errors };
    if (this.omitted > 0) report.omittedErrors = this.omitted;
    return report;
  }
}

// Segment's batch API wraps events as `{ "batch": [...] }`; a lone event stands alone.
function segmentBatch(items: unknown[], body: ScannedBody): unknown[] {
  const [only] = items;
  if (body.shape !== 'single' || !isRecord(only) || !Array.isArray(only.batch)) return items;
  return only.batch;
}

function toActivityRow(activity: NormalizedActivity): ActivityRow {
  return {
    time: Date.parse(activity.date),
    action: activity.action,
    weight: activity.weight,
    count: activity.count,
    email: activity.email ?? null,
    externalId: activity.externalId ?? null,
    companyExternalId: activity.companyExternalId ?? null,
    name: displayName(activity),
    endUserId: null,
    companyId: null,
    info: activity.info === null ? null : JSON.stringify(activity.info),
  };
}

function displayName({ name, firstName, lastName }: NormalizedActivity): string | null {
  if (name !== undefined) return name;
  if (firstName === undefined) return lastName ?? null;
  return lastName === undefined ? firstName : `${firstName} ${lastName}`;
}

function toMetricRow(metric: NormalizedMetric): MetricRow {
  return {
    dimensionId: metric.dimensionId,
    value: metric.value,
    model: metric.model,
    externalId: metric.externalId ?? null,
    objectId: metric.id ?? null,
    companyId: metric.model === 'Company' ? (metric.id ?? null) : null,
    time: Date.parse(metric.date),
    day: metric.day,
  };
}
