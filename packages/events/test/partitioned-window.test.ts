import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { WindowResult } from '../src/index.js';
import { PartitionedWindowAggregator, type WindowStateChange } from '../src/window/partitioned-window.js';

interface Play {
  partition: number;
  time: number;
  key: string;
}

const options = {
  type: 'hopping' as const,
  sizeMs: 60_000,
  advanceMs: 10_000,
  allowedLatenessMs: 5_000,
  key: (play: Play) => play.key,
  init: () => 0,
  add: (n: number) => n + 1,
};

const position = (play: Play, offset: number) => ({
  topic: 'events',
  partition: play.partition,
  offset: String(offset),
  eventTime: play.time,
});

const canonical = (partition: number, r: WindowResult<number>) => `${partition}|${r.key}@${r.start}:${r.count}`;

/** Plays in offset order, each partition's times mostly rising (a few seconds apart) but sometimes going back (late events). */
const plays = fc
  .array(
    fc.record({
      partition: fc.integer({ min: 0, max: 2 }),
      step: fc.integer({ min: -15_000, max: 40_000 }),
      key: fc.constantFrom('a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'),
    }),
    { minLength: 10, maxLength: 300, size: 'large' },
  )
  .map((steps) => {
    const clock = [0, 0, 0];
    return steps.map(({ partition, step, key }): Play => {
      clock[partition] = Math.max(0, (clock[partition] ?? 0) + step);
      return { partition, time: clock[partition] ?? 0, key };
    });
  });

/** Up to `n` fractions of the input's length, where checkpoints or crashes happen. */
const fractions = (n: number) =>
  fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), { minLength: 1, maxLength: n });

/** Runs `input` once, without interruption: the reference results. */
function uninterrupted(input: Play[]): string[] {
  const windows = new PartitionedWindowAggregator<Play, number>(options);
  const out: string[] = [];
  for (const [offset, play] of input.entries()) {
    for (const r of windows.add(play, position(play, offset))) out.push(canonical(play.partition, r));
  }
  return out.sort();
}

describe('PartitionedWindowAggregator', () => {
  it('restored from its checkpointed changes, emits exactly what an uninterrupted run emits (property)', () => {
    let closedSome = 0;
    fc.assert(
      fc.property(plays, fractions(40), fractions(4), (input, checkpointAt, crashAt) => {
        // Checkpoints and crashes at offsets inside the input.
        const checkpoints = new Set(checkpointAt.map((f) => Math.floor(f * input.length)));
        const crashes = new Set(crashAt.map((f) => Math.floor(f * input.length)));
        // The changelog (latest value per id) and the committed offset of each partition.
        const changelog = new Map<string, Map<string, WindowStateChange>>();
        const committed = new Map<number, number>();
        const emittedSinceCheckpoint = new Map<number, string[]>();
        const delivered: string[] = [];
        let windows = new PartitionedWindowAggregator<Play, number>(options);
        const checkpoint = (upTo: number) => {
          for (let partition = 0; partition < 3; partition++) {
            const tp = `events\u0000${partition}`;
            const log = changelog.get(tp) ?? new Map<string, WindowStateChange>();
            for (const change of windows.changes(tp)) {
              if (change.value === null) log.delete(JSON.stringify(change.id));
              else log.set(JSON.stringify(change.id), change);
            }
            changelog.set(tp, log);
            windows.checkpointed(tp);
            // What the changelog holds is exactly the live state.
            const restored = new PartitionedWindowAggregator<Play, number>(options);
            restored.restore(tp, log.values(), () => {
              throw new Error('unreadable entry');
            });
            expect(restored.snapshot(tp)).toEqual(windows.snapshot(tp));
            // What was emitted is durable with the checkpoint (an exactly-once sink).
            delivered.push(...(emittedSinceCheckpoint.get(partition) ?? []));
            emittedSinceCheckpoint.set(partition, []);
            committed.set(partition, upTo);
          }
        };
        let offset = 0;
        while (offset < input.length) {
          const play = input[offset] as Play;
          if (crashes.delete(offset)) {
            // Crash: the work since the checkpoint is lost; restore and go on from the committed offset.
            windows = new PartitionedWindowAggregator<Play, number>(options);
            for (const [tp, log] of changelog) {
              windows.restore(tp, log.values(), () => {
                throw new Error('unreadable entry');
              });
            }
            emittedSinceCheckpoint.clear();
            offset = Math.min(...[0, 1, 2].map((p) => committed.get(p) ?? 0));
            continue;
          }
          if (offset >= (committed.get(play.partition) ?? 0)) {
            for (const r of windows.add(play, position(play, offset))) {
              const list = emittedSinceCheckpoint.get(play.partition) ?? [];
              list.push(canonical(play.partition, r));
              emittedSinceCheckpoint.set(play.partition, list);
            }
          }
          offset++;
          if (checkpoints.has(offset)) checkpoint(offset);
        }
        checkpoint(input.length);
        const expected = uninterrupted(input);
        if (expected.length > 0) closedSome++;
        expect(delivered.sort()).toEqual(expected);
      }),
      { numRuns: 300 },
    );
    // The generator is useful: most runs close windows.
    expect(closedSome).toBeGreaterThan(150);
  });

  it("closes windows by its own partition's stream time: another partition's events do not close them", () => {
    const windows = new PartitionedWindowAggregator<Play, number>(options);
    windows.add({ partition: 0, time: 1_000, key: 'a' }, position({ partition: 0, time: 1_000, key: 'a' }, 0));
    expect(
      windows.add({ partition: 1, time: 500_000, key: 'a' }, position({ partition: 1, time: 500_000, key: 'a' }, 1)),
    ).toEqual([]);
    const closed = windows.add(
      { partition: 0, time: 500_000, key: 'b' },
      position({ partition: 0, time: 500_000, key: 'b' }, 2),
    );
    expect(closed.map((r) => r.start)).toEqual([-50_000, -40_000, -30_000, -20_000, -10_000, 0]);
    expect(windows.size('events\u00000')).toBe(6);
  });

  it('skips and reports unreadable state entries instead of restoring garbage', () => {
    const windows = new PartitionedWindowAggregator<Play, number>(options);
    const invalid: unknown[] = [];
    windows.restore(
      'events\u00000',
      [
        { id: ['time'], value: 'not a time' },
        { id: ['key', 'a'], value: { w: [[0, 3, -1]] } },
        { id: ['key', 'c'], value: { w: [] } },
        {
          id: ['key', 'b'],
          value: {
            w: [
              [0, 2, 2],
              [10_000, 1, 1],
            ],
          },
        },
      ],
      (id) => invalid.push(id),
    );
    expect(invalid).toEqual([['time'], ['key', 'a'], ['key', 'c']]);
    expect(windows.size('events\u00000')).toBe(2);
  });
});
