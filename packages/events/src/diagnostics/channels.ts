/**
 * Every `diagnostics_channel` name `@backlot/events` publishes on, in one
 * place, for tracers and APMs that subscribe to channels rather than use
 * OpenTelemetry. Publishing costs nothing while a channel has no subscriber.
 */
import type { DeadLetter } from '../spool/dead-letter.js';

/**
 * Tracing channel of every accepted `emit()` (`tracingChannel`:
 * `tracing:backlot:events:emit:start|end|error`, synchronous), with an
 * {@link EmitMessage} as context. An event refused at `emit` (invalid,
 * too large) ends with `error`.
 */
export const EMIT_CHANNEL = 'backlot:events:emit';

/**
 * Tracing channel of every record a pipeline processes (`tracingChannel`:
 * `tracing:backlot:events:process:start|end|asyncStart|asyncEnd|error`),
 * with a {@link ProcessMessage} as context: decoding it and running the
 * processing graph (sinks write it; they flush at the next commit).
 */
export const PROCESS_CHANNEL = 'backlot:events:process';

/**
 * Channel of events a producer's broker refused for good (poison events), with
 * a {@link DeadLetterMessage}: published once per group, before they are routed
 * to `onDeadLetter`, the dead-letter topic or the spool's dead-letter file.
 */
export const DEAD_LETTER_CHANNEL = 'backlot:events:dead-letter';

/**
 * Channel of records a pipeline sends to its dead-letter topic (undecodable, or
 * their processing threw), with a {@link PipelineDeadLetterMessage}.
 */
export const PIPELINE_DEAD_LETTER_CHANNEL = 'backlot:events:pipeline:dead-letter';

/** The context of one `emit()` on {@link EMIT_CHANNEL}. */
export interface EmitMessage {
  /** The producer's `source`. */
  producer: string;
  /** The event's name (`play.started`). */
  event: string;
  /** The event's id (the envelope's `id`). */
  id: string;
  /** The topic it is written to. */
  topic: string;
  /** Its partitioning key, or null. */
  key: string | null;
}

/** The context of one processed record on {@link PROCESS_CHANNEL}. */
export interface ProcessMessage {
  /** The pipeline's consumer group. */
  pipeline: string;
  /** Where the record came from. */
  topic: string;
  partition: number;
  offset: string;
}

/** What {@link DEAD_LETTER_CHANNEL} publishes. */
export interface DeadLetterMessage {
  /** The refused events, with the broker's code and reason. */
  letters: readonly DeadLetter[];
}

/** What {@link PIPELINE_DEAD_LETTER_CHANNEL} publishes. */
export interface PipelineDeadLetterMessage {
  /** The pipeline's consumer group. */
  pipeline: string;
  /** Where the record came from. */
  topic: string;
  partition: number;
  offset: string;
  /** Whether decoding it or processing it failed. */
  stage: 'decode' | 'process';
  /** Why. */
  error: unknown;
  /** The error's stable code (`BACKLOT_EVENT_INVALID`, `BACKLOT_EVENT_VERSION_UNKNOWN`, …; `BACKLOT_PROCESS_FAILED` for a processor's error without one). */
  code: string;
  /** The rule that failed (see `DEAD_LETTER_HEADERS`), e.g. `invalid_type` or `version-unknown`. */
  rule: string;
  /** The event's version on the wire, when readable. */
  version: number | undefined;
}
