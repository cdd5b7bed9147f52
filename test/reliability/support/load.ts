import { percentile, sleep } from './harness.js';

export interface Outcome {
  op: string;
  status: number;
  /** 0 when the request failed without an answer (reset, refused, timed out). */
  ms: number;
  startedAt: number;
  retryAfter: boolean;
  /** The start of an error answer's body, to say what went wrong. */
  detail?: string;
}

export interface LoadReport {
  outcomes: Outcome[];
  sent: number;
  p99: number;
  byStatus: Record<string, number>;
  /** When the last request was started. */
  endedAt: number;
}

/**
 * The main API mix over one app's token: 70% reads, 20% creates and updates, 10% deletes.
 * Reads and updates touch only the seeded companies and deletes only companies this mix
 * created, so no answer is a 404 that a concurrent delete explains.
 */
export class CompanyMix {
  private readonly stable: string[] = [];
  private readonly deletable: string[] = [];
  private counter = 0;

  constructor(
    readonly url: string,
    private readonly token: string,
    private readonly timeoutMs = 10_000,
  ) {}

  async seed(count: number): Promise<void> {
    // Fresh external ids: the report lists the ids of created records, not of updated ones.
    const run = Math.random().toString(36).slice(2);
    const body = Array.from({ length: count }, (_, i) => ({
      name: `Seed ${i}`,
      externalId: `seed-${run}-${i}`,
    }));
    const response = await this.request('PUT', '/companies', body);
    const report = (await response.json()) as { upsertedIds: string[] };
    if (report.upsertedIds.length !== count) throw new Error('the seeding upsert fell short');
    this.stable.push(...report.upsertedIds);
  }

  private request(method: string, path: string, body?: unknown): Promise<Response> {
    return fetch(`${this.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json' },
      signal: AbortSignal.timeout(this.timeoutMs),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  private pick(): [string, string, string, unknown?] {
    const roll = Math.random();
    const id = this.stable[Math.floor(Math.random() * this.stable.length)] ?? '';
    if (roll < 0.6) return ['read', 'GET', `/companies/${id}`];
    if (roll < 0.7) return ['list', 'GET', '/companies?limit=20'];
    if (roll < 0.8) {
      this.counter += 1;
      return ['create', 'POST', '/companies', { name: `Load ${this.counter}` }];
    }
    if (roll < 0.9) return ['update', 'PUT', `/companies/${id}`, { custom: { n: roll } }];
    const doomed = this.deletable.pop();
    if (doomed === undefined) return ['read', 'GET', `/companies/${id}`];
    return ['delete', 'DELETE', `/companies/${doomed}`];
  }

  /** Sends one request of the mix and records how it ended; never throws. */
  async one(): Promise<Outcome> {
    const [op, method, path, body] = this.pick();
    const startedAt = performance.now();
    try {
      const response = await this.request(method, path, body);
      const text = await response.text();
      if (op === 'create' && response.status === 200) {
        const created = JSON.parse(text) as { _id?: string };
        if (created._id !== undefined) this.deletable.push(created._id);
      }
      return {
        op,
        status: response.status,
        ms: performance.now() - startedAt,
        startedAt,
        retryAfter: response.headers.has('retry-after'),
        ...(response.status >= 400 ? { detail: `${method} ${text.slice(0, 200)}` } : {}),
      };
    } catch (error) {
      const ms = performance.now() - startedAt;
      const detail = `${method} ${String((error as Error).cause ?? error)}`;
      return { op, status: 0, ms, startedAt, retryAfter: false, detail };
    }
  }
}

export function summarize(outcomes: Outcome[], endedAt = performance.now()): LoadReport {
  const byStatus: Record<string, number> = {};
  for (const outcome of outcomes) byStatus[outcome.status] = (byStatus[outcome.status] ?? 0) + 1;
  const answered = outcomes.filter((o) => o.status >= 200 && o.status < 300).map((o) => o.ms);
  return { outcomes, sent: outcomes.length, p99: percentile(answered, 99), byStatus, endedAt };
}

/** A closed loop: `workers` clients back to back for `ms`; the throughput is the knee. */
export async function closedLoop(send: () => Promise<Outcome>, workers: number, ms: number) {
  const outcomes: Outcome[] = [];
  const until = performance.now() + ms;
  await Promise.all(
    Array.from({ length: workers }, async () => {
      while (performance.now() < until) outcomes.push(await send());
    }),
  );
  const ok = outcomes.filter((o) => o.status >= 200 && o.status < 300).length;
  return { perSecond: (ok * 1000) / ms, report: summarize(outcomes) };
}

/**
 * An open loop: requests start at a fixed rate whatever the answers' speed, so queueing shows
 * as latency rather than hiding in the client. `maxOutstanding` bounds the client itself.
 */
export async function openLoop(
  send: () => Promise<Outcome>,
  options: { perSecond: number; ms: number; maxOutstanding?: number; stop?: () => boolean },
): Promise<LoadReport> {
  const outcomes: Outcome[] = [];
  const pending = new Set<Promise<void>>();
  const limit = options.maxOutstanding ?? 2_000;
  const started = performance.now();
  let launched = 0;
  for (;;) {
    const elapsed = performance.now() - started;
    if (elapsed >= options.ms || options.stop?.() === true) break;
    const due = Math.floor((elapsed * options.perSecond) / 1000);
    while (launched < due && pending.size < limit) {
      launched += 1;
      const task: Promise<void> = send().then((outcome) => {
        outcomes.push(outcome);
        pending.delete(task);
      });
      pending.add(task);
    }
    // Requests the bound refused to start are skipped, not queued: the rate stays the rate.
    launched = Math.max(launched, due);
    await sleep(5);
  }
  const endedAt = performance.now();
  await Promise.all(pending);
  return summarize(outcomes, endedAt);
}
