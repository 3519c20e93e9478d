/**
 * The Kafka headers that carry an event's envelope in registry mode, where the
 * record's value is the payload alone (framed, per its registered JSON Schema):
 * a consumer in any language reads the payload as plain JSON and finds the rest here.
 */
export const ENVELOPE_HEADERS = {
  /** The event id (for de-duplication). */
  id: 'backlot-event-id',
  /** The event name, e.g. `play.started` (also in the registered schema: `title`, `x-backlot-event`). */
  name: 'backlot-event-name',
  /** The event version, in decimal (also in the registered schema: `x-backlot-version`). */
  version: 'backlot-event-version',
  /** When it happened (ISO-8601, UTC). */
  time: 'backlot-event-time',
  /** The emitting service. */
  source: 'backlot-event-source',
  /** The trace or request id, when there was one. */
  traceId: 'backlot-event-trace-id',
} as const;
