import { Readable } from 'node:stream';
import type { Principal } from '../auth/principal.js';
import { requirePermission } from '../permissions/authorize.js';
import type { Model } from '../permissions/permission-set.js';
import { invalidField } from '../shared/errors.js';
import { isHidden, redactHidden, type FieldRules } from './field-rules.js';
import type { ModelDefinition } from './model-catalogue.js';
import { applySelect } from './record-validation.js';
import { hidesFields, rulesFor, type RecordService } from './record.service.js';

/**
 * `GET /{model}/export`: every record of a model, streamed. Records are read in keyset
 * pages by id and each page is written before the next is read, so memory stays flat
 * however many records there are.
 */

export type ExportFormat = 'ndjson' | 'csv';

export { CONTENT_TYPES as EXPORT_CONTENT_TYPES };

export interface RecordExport {
  format: ExportFormat;
  contentType: string;
  filename: string;
  body: Readable;
}

const PAGE_SIZE = 500;
const FORMATS: Readonly<Record<string, ExportFormat>> = {
  ndjson: 'ndjson',
  jsonl: 'ndjson',
  csv: 'csv',
};
const CONTENT_TYPES: Readonly<Record<ExportFormat, string>> = {
  ndjson: 'application/x-ndjson; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};
const SYSTEM_COLUMNS = ['createdAt', 'updatedAt', 'createdBy', 'updatedBy'];
const LEADING_COLUMNS = ['_id', 'externalId', 'sourceId'];
const NOT_COLUMNS = new Set(['custom', '__v', ...SYSTEM_COLUMNS, ...LEADING_COLUMNS]);

/** `format=csv|ndjson` wins; otherwise an `Accept` of text/csv asks for CSV. */
export function exportFormat(format: unknown, accept: string | undefined): ExportFormat {
  if (typeof format === 'string' && format !== '') {
    const known = FORMATS[format.toLowerCase()];
    if (known === undefined) throw invalidField('format', 'must be ndjson or csv');
    return known;
  }
  return accept?.includes('text/csv') === true ? 'csv' : 'ndjson';
}

export async function exportRecords(
  service: RecordService,
  principal: Principal,
  model: ModelDefinition,
  rawQuery: Record<string, unknown>,
  accept: string | undefined,
): Promise<RecordExport> {
  requirePermission(principal, model.name as Model, 'export');
  const { format: formatParam, ...query } = rawQuery;
  const format = exportFormat(formatParam, accept);
  const plan = await service.planQuery(principal, model, query);
  const rules = rulesFor(principal, model);
  const select = plan.query.select;

  let toLine: (doc: string) => string;
  let header = '';
  if (format === 'csv') {
    const custom = await service.storage.customFields(principal.workspaceId);
    const names = custom
      .filter((field) => field.model.toLowerCase() === model.name.toLowerCase())
      .map((field) => field.name);
    const columns = (select ?? defaultColumns(model, names)).filter(
      (column) => !isHidden(column, rules),
    );
    header = `${columns.map(csvCell).join(',')}\r\n`;
    toLine = (doc) => csvLine(doc, columns, rules);
  } else {
    const redact = hidesFields(rules);
    toLine =
      select === undefined && !redact
        ? (doc) => `${doc}\n`
        : (doc) => `${JSON.stringify(visible(doc, rules, select))}\n`;
  }

  const { workspaceId } = principal;
  const storage = service.storage;
  async function* chunks(): AsyncGenerator<string> {
    if (header !== '') yield header;
    if (plan.empty) return;
    let after = '';
    for (;;) {
      const rows = await storage.page(workspaceId, model.storedAs, plan.filters, after, PAGE_SIZE);
      const last = rows[rows.length - 1];
      if (last === undefined) return;
      let chunk = '';
      for (const row of rows) chunk += toLine(row.doc);
      yield chunk;
      if (rows.length < PAGE_SIZE) return;
      after = last.id;
    }
  }

  return {
    format,
    contentType: CONTENT_TYPES[format],
    filename: `${model.path}.${format === 'csv' ? 'csv' : 'ndjson'}`,
    body: Readable.from(chunks(), { objectMode: false }),
  };
}

function visible(
  doc: string,
  rules: FieldRules | undefined,
  select: readonly string[] | undefined,
): Record<string, unknown> {
  const parsed = JSON.parse(doc) as Record<string, unknown>;
  return applySelect(hidesFields(rules) ? redactHidden(parsed, rules) : parsed, select);
}

/** Keys first, then the model's own fields, its custom fields, and who wrote it when. */
function defaultColumns(model: ModelDefinition, customNames: readonly string[]): string[] {
  const own = Object.keys(model.fields).filter((field) => !NOT_COLUMNS.has(field));
  const leading = LEADING_COLUMNS.filter((field) => field in model.fields);
  return [...leading, ...own, ...customNames.map((name) => `custom.${name}`), ...SYSTEM_COLUMNS];
}

function csvLine(doc: string, columns: readonly string[], rules: FieldRules | undefined): string {
  const parsed = JSON.parse(doc) as Record<string, unknown>;
  const record = hidesFields(rules) ? redactHidden(parsed, rules) : parsed;
  const custom = record.custom;
  const cells = columns.map((column) => {
    if (!column.startsWith('custom.')) return csvCell(record[column]);
    if (typeof custom !== 'object' || custom === null) return '';
    const name = column.slice('custom.'.length);
    return Object.hasOwn(custom, name) ? csvCell((custom as Record<string, unknown>)[name]) : '';
  });
  return `${cells.join(',')}\r\n`;
}

// Spreadsheets run cells that start with these as formulas.
const FORMULA_START = /^[=+\-@\t\r]/;

/** RFC 4180 quoting; objects and arrays as JSON; text that would run as a formula is defused. */
export function csvCell(value: unknown): string {
  if (value === undefined || value === null) return '';
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  let text = typeof value === 'string' ? value : JSON.stringify(value);
  if (typeof value === 'string' && FORMULA_START.test(text)) text = `'${text}`;
  return /[",\r\n]/.test(text) || text !== text.trim() ? `"${text.replace(/"/g, '""')}"` : text;
}
