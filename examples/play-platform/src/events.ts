import type { EventCatalog, EventDefinitions, EventPayloadInput } from '@backlot/events';
import { defineEventCatalog } from '@backlot/events';
import { z } from 'zod';

const device = z.enum(['tv', 'web', 'mobile', 'tablet']);

/** The events the Play platform emits. */
export const playEvents = defineEventCatalog({
  'playback.started': {
    version: 1,
    payload: z.object({
      profileId: z.string().min(1),
      titleId: z.string().min(1),
      device,
      country: z.string().length(2),
      sessionId: z.string().min(1),
      resumePositionMs: z.number().int().min(0),
    }),
  },
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
