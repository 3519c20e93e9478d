import { describe, expect, it } from 'vitest';
import { WindowAggregator } from '../src/window/window.js';

const at = (partition: number, eventTime: number, offset: number) => ({
  topic: 'events',
  partition,
  offset: String(offset),
  eventTime,
});

function aggregator(idleTimeoutMs: number | undefined, clock: { now: number }) {
  const windows = new WindowAggregator<{ title: string }, number>(
    {
      sizeMs: 1000,
      key: (e) => e.title,
      init: () => 0,
      add: (n) => n + 1,
      ...(idleTimeoutMs === undefined ? {} : { idleTimeoutMs }),
    },
    () => clock.now,
  );
  windows.assign([
    { topic: 'events', partition: 0 },
    { topic: 'events', partition: 1 },
  ]);
  return windows;
}

describe('windows with an idle partition', () => {
  it('wait for every assigned partition by default, so an idle one holds them open', () => {
    const clock = { now: 0 };
    const windows = aggregator(undefined, clock);
    windows.add({ title: 'a' }, at(0, 100, 1));
    clock.now = 60_000;
    expect(windows.add({ title: 'a' }, at(0, 5000, 2))).toEqual([]);
  });

  it('close once the idle partition has been quiet for idleTimeoutMs', () => {
    const clock = { now: 0 };
    const windows = aggregator(2000, clock);
    windows.add({ title: 'a' }, at(0, 100, 1));
    windows.add({ title: 'a' }, at(0, 200, 2));
    clock.now = 1000; // partition 1 silent for 1 s: still waited for
    expect(windows.add({ title: 'b' }, at(0, 1500, 3))).toEqual([]);
    clock.now = 2500; // now idle: the watermark follows partition 0 alone
    const closed = windows.add({ title: 'b' }, at(0, 2100, 4));
    expect(closed).toEqual([
      { key: 'a', start: 0, end: 1000, count: 2, value: 2 },
      { key: 'b', start: 1000, end: 2000, count: 1, value: 1 },
    ]);
  });

  it('count a late event from a partition that comes back', () => {
    const clock = { now: 0 };
    const windows = aggregator(2000, clock);
    windows.add({ title: 'a' }, at(0, 100, 1));
    clock.now = 3000;
    windows.add({ title: 'a' }, at(0, 5000, 2));
    windows.add({ title: 'old' }, at(1, 300, 1)); // its window closed while partition 1 was idle
    expect(windows.late).toBe(1);
  });

  it('rejects a bad idleTimeoutMs', () => {
    expect(
      () =>
        new WindowAggregator({ sizeMs: 1000, key: () => 'k', init: () => 0, add: (n: number) => n, idleTimeoutMs: 0 }),
    ).toThrow(/idleTimeoutMs must be a positive number of ms/);
  });
});
