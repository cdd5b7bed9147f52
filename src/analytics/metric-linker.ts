import type { MetricRow } from './analytics.repository.js';
import type { LinkedRecord, LinkedRecords, RecordKey } from './linked-records.repository.js';

/**
 * Finds the object each custom-metric value is about (by `id`, else by externalId) and
 * its company, so that values can be read back by company id. A value about an object
 * that does not exist yet is stored all the same, without the link.
 */
export class MetricLinker {
  constructor(private readonly records: LinkedRecords) {}

  async link(workspaceId: string, rows: MetricRow[]): Promise<void> {
    const wanted = new Map<string, { model: string; key: RecordKey; values: Set<string> }>();
    for (const row of rows) {
      const [key, value] = keyOf(row);
      if (value === undefined) continue;
      const group = `${row.model}:${key}`;
      let entry = wanted.get(group);
      if (entry === undefined) {
        entry = { model: row.model, key, values: new Set() };
        wanted.set(group, entry);
      }
      entry.values.add(value);
    }

    const models = [...new Set([...wanted.values()].map(({ model }) => model))];
    if (models.length === 0 || !(await this.records.hasAny(workspaceId, models))) return;

    const found = new Map<string, LinkedRecord[]>();
    await Promise.all(
      [...wanted.values()].map(async ({ model, key, values }) => {
        const records = await this.records.find(workspaceId, model, key, [...values]);
        for (const record of records) {
          const value = key === 'id' ? record.id : (record.externalId ?? '');
          const name = `${model}:${key}:${value}`;
          found.set(name, [...(found.get(name) ?? []), record]);
        }
      }),
    );

    for (const row of rows) {
      const [key, value] = keyOf(row);
      const matches = found.get(`${row.model}:${key}:${value ?? ''}`) ?? [];
      // An end user's externalId is unique only within its company.
      const [record, other] = matches;
      if (record === undefined || other !== undefined) continue;
      row.objectId = record.id;
      row.companyId = row.model === 'Company' ? record.id : record.companyId;
    }
  }
}

function keyOf(row: MetricRow): [RecordKey, string | undefined] {
  if (row.objectId !== null) return ['id', row.objectId];
  return ['external_id', row.externalId ?? undefined];
}
