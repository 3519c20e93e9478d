const kBacklotError = Symbol.for('backlot.error');

/** Stable codes of the errors of pipeline state, checkpoints and topic setup. */
export type StateErrorCode =
  | 'BACKLOT_EVENTS_TOPIC_SETUP'
  | 'BACKLOT_EVENTS_STATE_RESTORE'
  | 'BACKLOT_EVENTS_CHECKPOINT'
  | 'BACKLOT_EVENTS_PARTITION_LOST';

/**
 * Thrown by topic setup, state restoration and checkpoints. Recognise it by
 * `code` (or {@link isStateError}); `topic` names the topic involved.
 */
export class StateError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: StateErrorCode;
  /** The topic involved, when one is. */
  readonly topic: string | undefined;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(code: StateErrorCode, message: string, options?: ErrorOptions & { topic?: string | undefined }) {
    super(message, options);
    this.name = 'StateError';
    this.code = code;
    this.topic = options?.topic;
  }
}

/** True when `error` is a {@link StateError} (optionally with `code`), from any copy of the package. */
export function isStateError(error: unknown, code?: StateErrorCode): error is StateError {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    (error as { name?: unknown }).name === 'StateError' &&
    (code === undefined || (error as { code?: unknown }).code === code)
  );
}
