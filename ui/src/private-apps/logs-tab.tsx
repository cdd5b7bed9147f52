import { useState, type FormEvent } from 'react';
import { ApiError, api, query } from '../api';
import { Modal } from '../components/modal';
import { ErrorNotice, Loading } from '../components/notice';
import { formatDateTime, formatRelative } from '../format';
import { useSession } from '../session';
import type { LogItem, LogPage, LogSummary, PrivateApp, TokenInfo } from '../types';
import { useAsync } from '../use-async';
import { LogsChart } from './logs-chart';
import { SuggestedPermissions } from './suggested-permissions';

export interface LogsTabProps {
  app: PrivateApp;
  /** The Permissions tab holds edits the suggestion would overwrite. */
  unsavedPermissions: boolean;
  canApply: boolean;
  onApplied(app: PrivateApp): void;
}

export const PERIODS = [
  { id: '1h', label: 'Last hour', ms: 3600_000, bucket: '1m' },
  { id: '24h', label: 'Last 24 hours', ms: 86_400_000, bucket: '1h' },
  { id: '7d', label: 'Last 7 days', ms: 7 * 86_400_000, bucket: '6h' },
  { id: '30d', label: 'Last 30 days', ms: 30 * 86_400_000, bucket: '1d' },
] as const;
type PeriodId = (typeof PERIODS)[number]['id'];

const METHODS = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];
const STATUSES = [
  { value: '', label: 'Any status' },
  { value: '2xx', label: '2xx success' },
  { value: '4xx', label: '4xx client errors' },
  { value: '5xx', label: '5xx server errors' },
  ...['400', '401', '403', '404', '409', '429', '500'].map((code) => ({
    value: code,
    label: code,
  })),
];

interface Filters {
  period: PeriodId;
  method: string;
  status: string;
  path: string;
  tokenId: string;
  errorCode: string;
}

const NO_FILTERS: Filters = {
  period: '24h',
  method: '',
  status: '',
  path: '',
  tokenId: '',
  errorCode: '',
};

/** The window a filter set covers, fixed when the filters are applied. */
interface Applied extends Filters {
  from: string;
  to: string;
}

function applyFilters(filters: Filters): Applied {
  const period = PERIODS.find((item) => item.id === filters.period) ?? PERIODS[1];
  const now = Date.now();
  return {
    ...filters,
    from: new Date(now - period.ms).toISOString(),
    to: new Date(now).toISOString(),
  };
}

function filterQuery(applied: Applied) {
  return {
    from: applied.from,
    to: applied.to,
    method: applied.method,
    status: applied.status,
    path: applied.path.trim(),
    tokenId: applied.tokenId,
    errorCode: applied.errorCode.trim(),
  };
}

/** The request history of one app: chart, filters, table, detail, export, suggestions. */
export function LogsTab({ app, unsavedPermissions, canApply, onApplied }: LogsTabProps) {
  const { allowed } = useSession();
  const base = `/manage/private-apps/${app.id}`;
  const [form, setForm] = useState<Filters>(NO_FILTERS);
  const [applied, setApplied] = useState<Applied>(() => applyFilters(NO_FILTERS));
  const [more, setMore] = useState<{ page: LogPage; items: LogItem[]; cursor: string | null }>();
  const [moreError, setMoreError] = useState<unknown>(undefined);
  const [openLog, setOpenLog] = useState<string | undefined>(undefined);

  const tokens = useAsync(() => api.get<TokenInfo[]>(`${base}/tokens`), [base]);
  const page = useAsync(
    () => api.get<LogPage>(`${base}/logs${query({ ...filterQuery(applied), limit: 50 })}`),
    [base, applied],
  );
  // Older pages belong to the first page they were loaded after; new filters drop them.
  const older = more !== undefined && more.page === page.data ? more : undefined;
  const cursor = older === undefined ? (page.data?.nextCursor ?? null) : older.cursor;
  const period = PERIODS.find((item) => item.id === applied.period) ?? PERIODS[1];
  const summary = useAsync(
    () => loadSummary(base, applied, period.bucket),
    [base, applied, period.bucket],
  );

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setApplied(applyFilters(form));
  };

  const reset = () => {
    setForm(NO_FILTERS);
    setApplied(applyFilters(NO_FILTERS));
  };

  const loadMore = async () => {
    const first = page.data;
    if (cursor === null || first === undefined) return;
    setMoreError(undefined);
    try {
      const search = query({ ...filterQuery(applied), limit: 50, cursor });
      const next = await api.get<LogPage>(`${base}/logs${search}`);
      const items = [...(older?.items ?? []), ...next.items];
      setMore({ page: first, items, cursor: next.nextCursor });
    } catch (error) {
      setMoreError(error);
    }
  };

  const set = (patch: Partial<Filters>) => setForm((current) => ({ ...current, ...patch }));
  const rows = [...(page.data?.items ?? []), ...(older?.items ?? [])];
  const exportQuery = (format: string) => query({ ...filterQuery(applied), format });
  const unavailable = isMissingRoute(page.error);

  if (unavailable) {
    return (
      <div className="empty-state">
        <p>The request log is not available on this server yet.</p>
      </div>
    );
  }

  return (
    <div className="stack logs-tab">
      <form className="log-filters" onSubmit={submit} aria-label="Log filters">
        <label className="field">
          <span>Period</span>
          <select value={form.period} onChange={(e) => set({ period: e.target.value as PeriodId })}>
            {PERIODS.map((item) => (
              <option key={item.id} value={item.id}>
                {item.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Method</span>
          <select value={form.method} onChange={(e) => set({ method: e.target.value })}>
            <option value="">Any method</option>
            {METHODS.map((method) => (
              <option key={method}>{method}</option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Status</span>
          <select value={form.status} onChange={(e) => set({ status: e.target.value })}>
            {STATUSES.map((item) => (
              <option key={item.value} value={item.value}>
                {item.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Path contains</span>
          <input
            value={form.path}
            placeholder="/companies"
            onChange={(e) => set({ path: e.target.value })}
          />
        </label>
        <label className="field">
          <span>Token</span>
          <select value={form.tokenId} onChange={(e) => set({ tokenId: e.target.value })}>
            <option value="">Any token</option>
            {(tokens.data ?? []).map((token) => (
              <option key={token.id} value={token.id}>
                {token.hint}
                {token.label === '' ? '' : ` (${token.label})`}
              </option>
            ))}
          </select>
        </label>
        <label className="field">
          <span>Error code</span>
          <input
            value={form.errorCode}
            placeholder="forbidden"
            onChange={(e) => set({ errorCode: e.target.value })}
          />
        </label>
        <div className="log-filter-actions">
          <button type="submit" className="button button-primary">
            Apply filters
          </button>
          <button type="button" className="button" onClick={reset}>
            Reset
          </button>
        </div>
      </form>

      <section aria-labelledby="chart-title">
        <h3 id="chart-title">Requests over time</h3>
        {summary.data === undefined ? (
          summary.error === undefined ? (
            <Loading what="the chart" />
          ) : (
            <ErrorNotice error={summary.error} />
          )
        ) : (
          <LogsChart buckets={summary.data} from={applied.from} to={applied.to} />
        )}
      </section>

      <section aria-labelledby="requests-title">
        <div className="section-header">
          <h3 id="requests-title">Requests</h3>
          {allowed('ServiceAccount', 'export') ? (
            <span className="export-links">
              <a
                className="button button-small"
                href={`${base}/logs/export${exportQuery('csv')}`}
                download
              >
                Export CSV
              </a>
              <a
                className="button button-small"
                href={`${base}/logs/export${exportQuery('ndjson')}`}
                download
              >
                Export NDJSON
              </a>
            </span>
          ) : null}
        </div>
        <ErrorNotice error={page.error} />
        {page.loading && page.data === undefined ? <Loading what="requests" /> : null}
        {page.data !== undefined && rows.length === 0 ? (
          <p className="empty-state">No requests match these filters.</p>
        ) : null}
        {rows.length === 0 ? null : (
          <table className="data-table responsive log-table" aria-label="Requests">
            <thead>
              <tr>
                <th scope="col">Time</th>
                <th scope="col">Request</th>
                <th scope="col">Status</th>
                <th scope="col">Duration</th>
                <th scope="col">Token</th>
                <th scope="col">Error</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((item) => (
                <tr key={item.id} data-log-id={item.id}>
                  <td data-label="Time">
                    <button
                      type="button"
                      className="link-button"
                      aria-label={`Details of ${item.method} ${item.path} at ${formatDateTime(item.at)}`}
                      onClick={() => setOpenLog(item.id)}
                    >
                      <time dateTime={item.at}>{formatDateTime(item.at)}</time>
                    </button>
                  </td>
                  <td data-label="Request" className="cell-request">
                    <span className="method">{item.method}</span> <code>{item.path}</code>
                  </td>
                  <td data-label="Status">
                    <StatusBadge status={item.status} />
                  </td>
                  <td data-label="Duration">{Math.round(item.durationMs)} ms</td>
                  <td data-label="Token">
                    <code>{item.tokenHint}</code>
                  </td>
                  <td data-label="Error">{item.errorCode ?? ''}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        <ErrorNotice error={moreError} />
        {cursor === null ? null : (
          <button type="button" className="button" onClick={() => void loadMore()}>
            Load older requests
          </button>
        )}
      </section>

      <SuggestedPermissions
        appId={app.id}
        from={applied.from}
        to={applied.to}
        canApply={canApply}
        blockedReason={
          unsavedPermissions
            ? 'Save or discard your edits on the Permissions tab before applying a suggestion.'
            : undefined
        }
        onApplied={onApplied}
      />

      {openLog === undefined ? null : (
        <LogDetail base={base} logId={openLog} onClose={() => setOpenLog(undefined)} />
      )}
    </div>
  );
}

export function StatusBadge({ status }: { status: number }) {
  const kind = status >= 500 ? 'error' : status >= 400 ? 'warning' : 'success';
  return <span className={`badge badge-status badge-${kind}`}>{status}</span>;
}

function LogDetail({ base, logId, onClose }: { base: string; logId: string; onClose(): void }) {
  const entry = useAsync(() => api.get<LogItem>(`${base}/logs/${logId}`), [base, logId]);
  const item = entry.data;
  return (
    <Modal title="Request details" onClose={onClose} size="medium" name="log-detail">
      <ErrorNotice error={entry.error} />
      {item === undefined ? (
        entry.error === undefined ? (
          <Loading what="the request" />
        ) : null
      ) : (
        <dl className="detail-list">
          <dt>Time</dt>
          <dd>
            {formatDateTime(item.at)} ({formatRelative(item.at)})
          </dd>
          <dt>Request</dt>
          <dd>
            <span className="method">{item.method}</span> <code>{item.path}</code>
          </dd>
          <Optional term="Route" value={item.route} code />
          <dt>Status</dt>
          <dd>
            <StatusBadge status={item.status} /> in {Math.round(item.durationMs)} ms
          </dd>
          <Optional term="Operation" value={item.operation} />
          <Optional term="Model" value={item.model} />
          <Optional term="Token" value={item.tokenHint} code />
          <Optional term="Client IP" value={item.ip} />
          <Optional term="User agent" value={item.userAgent} />
          <Optional term="Request id" value={item.requestId} code />
          <Optional term="Error code" value={item.errorCode} code />
          <Optional term="Error message" value={item.errorMessage} />
          <Optional term="Missing permission" value={item.missingPermission} code />
          <Optional term="Actions" value={item.actions.join(', ')} />
          {item.counts === null ? null : (
            <>
              <dt>Records</dt>
              <dd>
                {item.counts.created} created, {item.counts.updated} updated, {item.counts.errors}{' '}
                failed
              </dd>
            </>
          )}
          {item.ignoredFields.length === 0 ? null : (
            <>
              <dt>Ignored fields</dt>
              <dd>{item.ignoredFields.join(', ')}</dd>
            </>
          )}
        </dl>
      )}
    </Modal>
  );
}

function Optional({
  term,
  value,
  code = false,
}: {
  term: string;
  value: string | null;
  code?: boolean;
}) {
  if (value === null || value === '') return null;
  return (
    <>
      <dt>{term}</dt>
      <dd>{code ? <code>{value}</code> : value}</dd>
    </>
  );
}

async function loadSummary(base: string, applied: Applied, bucket: string) {
  const search = query({ from: applied.from, to: applied.to, bucket });
  return (await api.get<LogSummary>(`${base}/logs/summary${search}`)).buckets;
}

function isMissingRoute(error: unknown): boolean {
  return error instanceof ApiError && error.code === 'route_not_found';
}
