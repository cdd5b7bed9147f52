import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  answerRateLimits,
  leaseSize,
  type LeaseAnswer,
} from '../../src/cluster/ipc-rate-limit-store.js';
import { workerShare } from '../../src/cluster/worker-share.js';

function primary(workers: number) {
  const answer = answerRateLimits(workers);
  let id = 0;
  return (key: string, max: number, timeWindow = 1_000): LeaseAnswer => {
    let reply: LeaseAnswer | undefined;
    id += 1;
    answer({ kind: 'rate-limit-lease', id, key, timeWindow, max }, (given) => (reply = given));
    if (reply === undefined) throw new Error('no answer');
    return reply;
  };
}

describe('rate-limit leases', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('hands out blocks that add up to the limit and no more, shrinking to 1', () => {
    const ask = primary(2);
    const blocks: number[] = [];
    for (let i = 0; i < 200; i += 1) {
      const { granted } = ask('app:a', 150);
      if (granted === 0) break;
      blocks.push(granted);
    }
    expect(blocks.reduce((sum, block) => sum + block, 0)).toBe(150);
    expect(blocks[0]).toBeLessThanOrEqual(150 / 2);
    expect(blocks.at(-1)).toBe(1);
    expect(ask('app:a', 150)).toMatchObject({ granted: 0, used: 150 });
    // Another key has a window of its own.
    expect(ask('app:b', 150).granted).toBeGreaterThan(0);
  });

  it('starts a new window once the last one ended, and reports when it ends', () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const ask = primary(2);
    while (ask('app:a', 10).granted > 0);
    expect(ask('app:a', 10)).toEqual({
      kind: 'rate-limit-lease',
      id: expect.any(Number),
      granted: 0,
      used: 10,
      resetAt: 1_001_000,
    });
    vi.advanceTimersByTime(1_000);
    const next = ask('app:a', 10);
    expect(next.granted).toBeGreaterThan(0);
    expect(next.used).toBe(next.granted);
    expect(next.resetAt).toBe(1_002_000);
  });

  it('follows a limit changed within the window', () => {
    const ask = primary(1);
    while (ask('app:a', 4).granted > 0);
    expect(ask('app:a', 6).granted).toBeGreaterThan(0);
    expect(ask('app:a', 2).granted).toBe(0);
  });

  it('ignores messages that are not lease requests', () => {
    const answer = answerRateLimits(2);
    const replies: unknown[] = [];
    for (const message of [null, 'x', { kind: 'rate-limit-lease' }, { kind: 'other', key: 'k' }]) {
      answer(message, (reply) => replies.push(reply));
    }
    expect(replies).toEqual([]);
  });

  it('sizes a block as a small share of what is left', () => {
    expect(leaseSize(0, 2)).toBe(0);
    expect(leaseSize(-3, 2)).toBe(0);
    expect(leaseSize(1, 2)).toBe(1);
    expect(leaseSize(7, 2)).toBe(1);
    expect(leaseSize(10_000, 2)).toBe(1_250);
  });

  it('splits the in-flight cap so the workers never hold more than it together', () => {
    expect(workerShare(50, 1)).toBe(50);
    expect(workerShare(50, 2)).toBe(25);
    expect(workerShare(50, 3) * 3).toBeLessThanOrEqual(50);
    expect(workerShare(50, 64)).toBe(1);
  });
});
