import { defineEventCatalog, type EventCatalog, type EventDefinitions } from '@backlot/events';
import { z } from 'zod';

/** The events this service emits. Add yours here: they are type-checked and validated. */
export const serviceEvents = defineEventCatalog({
  'rating.set': {
    version: 1,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string().min(1), rating: z.enum(['up', 'down']) }),
  },
});

/** The catalogue's event definitions, for typing producers. */
export type ServiceEvents =
  typeof serviceEvents extends EventCatalog<infer Defs extends EventDefinitions> ? Defs : never;
