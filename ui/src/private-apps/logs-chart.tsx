import { formatAxis, formatDateTime } from '../format';
import type { LogBucket } from '../types';

const SERIES = [
  { key: 's2xx', label: '2xx success', className: 'bar-2xx' },
  { key: 's4xx', label: '4xx client errors', className: 'bar-4xx' },
  { key: 's5xx', label: '5xx server errors', className: 'bar-5xx' },
] as const;

/**
 * Stacked bars of requests per time bucket, one colour per status class. Drawn with boxes
 * rather than SVG so that labels keep their size on a narrow screen.
 */
export function LogsChart({
  buckets,
  from,
  to,
}: {
  buckets: LogBucket[];
  from: string;
  to: string;
}) {
  const totals = SERIES.map((series) =>
    buckets.reduce((sum, bucket) => sum + bucket[series.key], 0),
  );
  const all = totals.reduce((a, b) => a + b, 0);
  const max = Math.max(1, ...buckets.map((b) => b.s2xx + b.s4xx + b.s5xx));
  const span = new Date(to).getTime() - new Date(from).getTime();
  const described = SERIES.map((series, i) => `${totals[i]} ${series.label}`).join(', ');
  const first = buckets[0];
  const last = buckets[buckets.length - 1];

  return (
    <figure className="chart">
      <div
        className="chart-plot"
        role="img"
        aria-label={`${all} requests from ${formatDateTime(from)} to ${formatDateTime(to)}: ${described}`}
      >
        <span className="chart-max" aria-hidden="true">
          {max}
        </span>
        <div className="chart-bars">
          {buckets.map((bucket) => (
            <div
              key={bucket.start}
              className="chart-bar"
              title={`${formatDateTime(bucket.start)}: ${bucket.s2xx} 2xx, ${bucket.s4xx} 4xx, ${bucket.s5xx} 5xx`}
            >
              {SERIES.map((series) =>
                bucket[series.key] === 0 ? null : (
                  <span
                    key={series.key}
                    className={series.className}
                    style={{ height: `${(bucket[series.key] / max) * 100}%` }}
                  />
                ),
              )}
            </div>
          ))}
        </div>
      </div>
      <div className="chart-axis" aria-hidden="true">
        <span>{formatAxis(first?.start ?? from, span)}</span>
        <span>{formatAxis(last?.start ?? to, span)}</span>
      </div>
      <figcaption className="chart-legend">
        {SERIES.map((series, i) => (
          <span key={series.key} className="legend-item">
            <span className={`legend-swatch ${series.className}`} aria-hidden="true" />
            {series.label}: {totals[i]}
          </span>
        ))}
      </figcaption>
    </figure>
  );
}
