import { defineEventCatalog } from '@backlot/events';
import { z } from 'zod';

/** The events the Play platform emits. */
export const playEvents = defineEventCatalog({
  'play.started': {
    version: 1,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string().min(1), device: z.string().min(1) }),
  },
});
