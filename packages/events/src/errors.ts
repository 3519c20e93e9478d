const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by every error `@backlot/events` throws. */
export type EventsErrorCode = 'BACKLOT_EVENT_INVALID' | 'BACKLOT_EVENT_UNKNOWN';

/** Base class of the package's errors; recognise them by `code`. */
export class EventsError extends Error {
  /** Stable, machine-readable error code. */
  readonly code: EventsErrorCode;
  /** @internal brand shared by all Backlot errors. */
  readonly [kBacklotError] = true;

  constructor(code: EventsErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** One problem found in an event, with the path of the offending field. */
export interface EventIssue {
  /** Dotted path of the field, e.g. `payload.profileId`. */
  path: string;
  /** What is wrong with it. */
  message: string;
}

/** Thrown when an event or its payload does not match the catalogue. */
export class InvalidEventError extends EventsError {
  /** The event name, when known. */
  readonly eventName: string | undefined;
  /** Every problem found, each naming its field. */
  readonly issues: readonly EventIssue[];

  constructor(eventName: string | undefined, issues: readonly EventIssue[], options?: ErrorOptions) {
    const what = eventName ? `event '${eventName}'` : 'event';
    const list = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
    super('BACKLOT_EVENT_INVALID', `invalid ${what}: ${list}`, options);
    this.eventName = eventName;
    this.issues = issues;
  }
}

/** Thrown when an event name is not in the catalogue. */
export class UnknownEventError extends EventsError {
  /** The name that is not in the catalogue. */
  readonly eventName: string;

  constructor(eventName: string, known: readonly string[]) {
    super('BACKLOT_EVENT_UNKNOWN', `unknown event '${eventName}'; the catalogue has: ${known.join(', ')}`);
    this.eventName = eventName;
  }
}

function hasCode(error: unknown, code: EventsErrorCode): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    (error as { [kBacklotError]?: unknown })[kBacklotError] === true &&
    (error as { code?: unknown }).code === code
  );
}

/** True when `error` is an {@link InvalidEventError}, from any copy of the package. */
export function isInvalidEventError(error: unknown): error is InvalidEventError {
  return hasCode(error, 'BACKLOT_EVENT_INVALID');
}

/** True when `error` is an {@link UnknownEventError}, from any copy of the package. */
export function isUnknownEventError(error: unknown): error is UnknownEventError {
  return hasCode(error, 'BACKLOT_EVENT_UNKNOWN');
}
