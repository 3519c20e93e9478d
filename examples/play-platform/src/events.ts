import type { EventCatalog, EventDefinitions, EventPayloadInput } from '@backlot/events';
import { defineEvent, defineEventCatalog } from '@backlot/events';
import { z } from 'zod';

const device = z.enum(['tv', 'web', 'mobile', 'tablet']);

const playbackStartedV1 = z.object({
  profileId: z.string().min(1),
  titleId: z.string().min(1),
  device,
  country: z.string().length(2),
  sessionId: z.string().min(1),
  resumePositionMs: z.number().int().min(0),
});

/**
 * `playback.started`, evolved once: v2 says whether playback resumed a
 * bookmark (`resumed`), so consumers need not guess from the position.
 * Events of v1 still in the topic are lifted by the upcaster (resumed when
 * the position is past the start).
 */
const playbackStarted = defineEvent({
  version: 1,
  payload: playbackStartedV1,
  examples: [
    { profileId: 'p1', titleId: '80100172', device: 'tv', country: 'FR', sessionId: 's1', resumePositionMs: 0 },
    { profileId: 'p2', titleId: '80100172', device: 'web', country: 'BR', sessionId: 's2', resumePositionMs: 61_000 },
  ],
}).evolve({
  version: 2,
  payload: playbackStartedV1.extend({ resumed: z.boolean() }),
  upcast: (v1) => ({ ...v1, resumed: v1.resumePositionMs > 0 }),
});

/** The events the Play platform emits (schema snapshot: `events.schema.json`, checked by `npm test`). */
export const playEvents = defineEventCatalog({
  'playback.started': playbackStarted,
  'playback.heartbeat': {
    version: 1,
    payload: z.object({
      profileId: z.string().min(1),
      titleId: z.string().min(1),
      sessionId: z.string().min(1),
      positionMs: z.number().int().min(0),
    }),
  },
  'playback.stopped': {
    version: 1,
    payload: z.object({
      profileId: z.string().min(1),
      titleId: z.string().min(1),
      sessionId: z.string().min(1),
      positionMs: z.number().int().min(0),
    }),
  },
  'bookmark.updated': {
    version: 1,
    payload: z.object({
      profileId: z.string().min(1),
      titleId: z.string().min(1),
      positionMs: z.number().int().min(0),
    }),
  },
  impression: {
    version: 1,
    payload: z.object({ profileId: z.string().min(1), titleIds: z.array(z.string()).min(1), row: z.string() }),
  },
});

type PlayDefs = typeof playEvents extends EventCatalog<infer Defs extends EventDefinitions> ? Defs : never;

/** The name of a Play platform event. */
export type PlayEventName = keyof PlayDefs & string;

/** Every envelope of the Play platform's catalogue. */
export type PlayEvent = ReturnType<typeof playEvents.decode>;

/** How a service emits: type-checked, validated, never blocking. */
export type Emit = <Name extends PlayEventName>(
  name: Name,
  payload: EventPayloadInput<PlayDefs, Name>,
  options?: { traceId?: string | undefined },
) => void;

/** The topic all Play platform events go to. */
export const PLAY_TOPIC = 'play-events';
