/**
 * `npm run bench -- events-decode`: what reading an older event version costs
 * a consumer. `decode()` of one envelope (JSON text to a validated, typed
 * event) for an event already at the latest version (v3) and for a v1 event
 * lifted through two upcasters (v1 → v2 → v3, each step validated by the next
 * schema), side by side with the floor: `JSON.parse` plus one zod `safeParse`
 * of the v3 payload, no envelope (reference).
 *
 * - decode_ns: ns per decoded event.
 */
import { defineEvent, defineEventCatalog } from '@backlot/events';
import { z } from 'zod';
import { type Figures, runBench } from './lib/harness.ts';

const EVENTS = 200_000;

const v1 = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  stars: z.number().int().min(1).max(5),
});
const v2 = v1.extend({ device: z.enum(['tv', 'web', 'mobile', 'unknown']) });
const v3 = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  score: z.number().int().min(0).max(100),
  device: z.enum(['tv', 'web', 'mobile', 'unknown']),
});
const catalog = defineEventCatalog({
  'title.rated': defineEvent({ version: 1, payload: v1 })
    .evolve({ version: 2, payload: v2, upcast: (e) => ({ ...e, device: 'unknown' as const }) })
    .evolve({ version: 3, payload: v3, upcast: ({ stars, ...rest }) => ({ ...rest, score: stars * 20 }) }),
});

const envelope = (version: number, payload: unknown) =>
  JSON.stringify({
    id: '6f1c1d2e-8f5e-4b7a-9d7e-0c6a5b4e3d2f',
    name: 'title.rated',
    version,
    time: '2026-12-01T20:00:00.000Z',
    source: 'ratings',
    payload,
  });
const latest = envelope(3, { profileId: 'p1', titleId: 't1', score: 80, device: 'tv' });
const oldest = envelope(1, { profileId: 'p1', titleId: 't1', stars: 4 });
const payloadOnly = JSON.stringify({ profileId: 'p1', titleId: 't1', score: 80, device: 'tv' });

let sink = 0;

function subject(decode: () => unknown): () => Promise<Figures> {
  return async () => {
    const start = process.hrtime.bigint();
    for (let i = 0; i < EVENTS; i++) if (decode()) sink++;
    return { decode_ns: Number(process.hrtime.bigint() - start) / EVENTS };
  };
}

export default async function run() {
  const result = await runBench({
    name: 'events-decode',
    unit: { decode_ns: 'ns per decoded event (lower is better)' },
    subjects: {
      'zod-payload-only': subject(() => v3.safeParse(JSON.parse(payloadOnly)).success),
      'backlot-latest-v3': subject(() => catalog.decode(latest)),
      'backlot-v1-upcast-to-v3': subject(() => catalog.decode(oldest)),
    },
    reference: 'zod-payload-only',
    rounds: 5,
    warmup: 1,
  });
  if (sink === 0) throw new Error('nothing was measured');
  return result;
}
