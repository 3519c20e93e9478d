import type { DeadLetter } from './spool/dead-letter.js';
import type { OutgoingMessage, RejectedMessage } from './transport/types.js';

const kBacklotError = Symbol.for('backlot.error');

/** Stable codes carried by every error `@backlot/events` throws. */
export type EventsErrorCode =
  | 'BACKLOT_EVENT_INVALID'
  | 'BACKLOT_EVENT_UNKNOWN'
  | 'BACKLOT_EVENT_VERSION_UNKNOWN'
  | 'BACKLOT_EVENT_UPCAST_FAILED'
  | 'BACKLOT_EVENTS_SNAPSHOT_INVALID'
  | 'BACKLOT_EVENTS_CLOSED'
  | 'BACKLOT_EVENTS_TIMEOUT'
  | 'BACKLOT_EVENTS_SPOOL_LOCKED'
  | 'BACKLOT_EVENT_TOO_LARGE'
  | 'BACKLOT_EVENT_UNENCODABLE'
  | 'BACKLOT_EVENTS_CATALOG_INVALID'
  | 'BACKLOT_EVENTS_SEND_FAILED'
  | 'BACKLOT_EVENTS_REFUSED'
  | 'BACKLOT_EVENTS_REGISTRY_UNREACHABLE'
  | 'BACKLOT_EVENTS_REGISTRY_REFUSED'
  | 'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA'
  | 'BACKLOT_EVENTS_REGISTRY_BAD_RESPONSE'
  | 'BACKLOT_EVENTS_REGISTRY_BAD_FRAME'
  | 'BACKLOT_MISSING_PEER';

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
  /** The rule it breaks: zod's issue code (`invalid_type`, `too_small`, `unrecognized_keys`, …), when known. */
  rule?: string | undefined;
}

/** Thrown when an event or its payload does not match the catalogue. */
export class InvalidEventError extends EventsError {
  /** The event name, when known. */
  readonly eventName: string | undefined;
  /** Every problem found, each naming its field. */
  readonly issues: readonly EventIssue[];
  /** The version of the event whose schema refused it, when known. */
  readonly version: number | undefined;

  constructor(
    eventName: string | undefined,
    issues: readonly EventIssue[],
    options?: ErrorOptions & { version?: number | undefined },
  ) {
    const what = eventName ? `event '${eventName}'${options?.version ? ` v${options.version}` : ''}` : 'event';
    const list = issues.map((issue) => `${issue.path || '(root)'}: ${issue.message}`).join('; ');
    super('BACKLOT_EVENT_INVALID', `invalid ${what}: ${list}`, options);
    this.eventName = eventName;
    this.issues = issues;
    this.version = options?.version;
  }
}

/**
 * Thrown by `decode()` for an event whose version the catalogue does not
 * declare: newer than its latest (deploy the consumer with the newer
 * catalogue) or an older one it no longer lists.
 */
export class EventVersionError extends EventsError {
  /** The event name. */
  readonly eventName: string;
  /** The version on the wire. */
  readonly version: number;
  /** The versions the catalogue declares, oldest first. */
  readonly known: readonly number[];

  constructor(eventName: string, version: number, known: readonly number[]) {
    const latest = known[known.length - 1] ?? 0;
    super(
      'BACKLOT_EVENT_VERSION_UNKNOWN',
      version > latest
        ? `event '${eventName}' v${version} is newer than this catalogue knows (latest v${latest}): ` +
            'deploy consumers with the newer catalogue before producers emit it'
        : `event '${eventName}' v${version} is not in the catalogue (it declares ${known.map((v) => `v${v}`).join(', ')}): ` +
            'keep old versions in defineEvent(…).evolve(…) while their events may still be read',
    );
    this.eventName = eventName;
    this.version = version;
    this.known = known;
  }
}

/** Thrown by `decode()` when an upcaster throws or its output fails the next version's schema. */
export class UpcastError extends EventsError {
  /** The event name. */
  readonly eventName: string;
  /** The version the upcaster reads. */
  readonly fromVersion: number;
  /** The version it produces. */
  readonly toVersion: number;
  /** The fields of its output that the next schema refused (empty when the upcaster threw). */
  readonly issues: readonly EventIssue[];

  constructor(
    eventName: string,
    fromVersion: number,
    toVersion: number,
    issues: readonly EventIssue[],
    options?: ErrorOptions,
  ) {
    const why =
      issues.length > 0
        ? `its output fails v${toVersion}'s schema: ${issues.map((i) => `${i.path || '(root)'}: ${i.message}`).join('; ')}`
        : `it threw: ${options?.cause instanceof Error ? options.cause.message : String(options?.cause)}`;
    super(
      'BACKLOT_EVENT_UPCAST_FAILED',
      `event '${eventName}': the upcaster from v${fromVersion} to v${toVersion} failed, ${why}; fix the upcaster ` +
        `(it must turn every valid v${fromVersion} payload into a valid v${toVersion} one)`,
      options,
    );
    this.eventName = eventName;
    this.fromVersion = fromVersion;
    this.toVersion = toVersion;
    this.issues = issues;
  }
}

/** Thrown when a JSON Schema snapshot (see `exportSchemaSnapshot`) cannot be read, naming the field. */
export class SchemaSnapshotError extends EventsError {
  constructor(reason: string, options?: ErrorOptions) {
    super('BACKLOT_EVENTS_SNAPSHOT_INVALID', `schema snapshot: ${reason}`, options);
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

/** Thrown by `emit`, `flush` or `run` after `close()` was called. */
export class ClosedError extends EventsError {
  constructor(what: string) {
    super('BACKLOT_EVENTS_CLOSED', `${what} is closed; create a new one (close() is final)`);
  }
}

/** Thrown when `flush()` or `close()` could not drain everything within its timeout. */
export class FlushTimeoutError extends EventsError {
  /** Events still pending (in memory, in flight or in the spool) when the time ran out. */
  readonly pending: number;

  constructor(timeoutMs: number, pending: number) {
    super(
      'BACKLOT_EVENTS_TIMEOUT',
      `could not deliver ${pending} pending event(s) within ${timeoutMs} ms (is the broker reachable?); ` +
        'events in the spool are kept and replayed on the next start',
    );
    this.pending = pending;
  }
}

/** Thrown when another live process holds the spool directory. */
export class SpoolLockedError extends EventsError {
  /** The spool directory. */
  readonly dir: string;

  constructor(dir: string, pid: number) {
    super(
      'BACKLOT_EVENTS_SPOOL_LOCKED',
      `spool directory ${dir} is in use by process ${pid}; give each producer its own spool.dir`,
    );
    this.dir = dir;
  }
}

/** Thrown by `emit` when an encoded event is larger than the broker accepts for its topic. */
export class EventTooLargeError extends EventsError {
  /** The event name. */
  readonly eventName: string;
  /** The topic it was meant for. */
  readonly topic: string;
  /** Its size as a record (encoded value, key and record overhead), in bytes. */
  readonly bytes: number;
  /** The largest record the topic accepts (`max.message.bytes`), in bytes. */
  readonly limit: number;

  constructor(eventName: string, topic: string, bytes: number, limit: number) {
    super(
      'BACKLOT_EVENT_TOO_LARGE',
      `event '${eventName}' is ${bytes} bytes encoded; topic '${topic}' accepts at most ${limit} ` +
        '(max.message.bytes): make the payload smaller, e.g. store the large part in an object store and send its key',
    );
    this.eventName = eventName;
    this.topic = topic;
    this.bytes = bytes;
    this.limit = limit;
  }
}

/** Thrown by `emit` (and the catalogue's `encode`) when a valid payload cannot be encoded for the wire. */
export class EventEncodeError extends EventsError {
  /** The event name. */
  readonly eventName: string;

  constructor(eventName: string, reason: string, options?: ErrorOptions) {
    super(
      'BACKLOT_EVENT_UNENCODABLE',
      `event '${eventName}' passed its schema but cannot be encoded as JSON: ${reason}`,
      options,
    );
    this.eventName = eventName;
  }
}

/** Thrown by `defineEventCatalog` for a definition it cannot use, naming the event and field. */
export class CatalogError extends EventsError {
  /** The event whose definition is refused, when one is. */
  readonly eventName: string | undefined;

  constructor(eventName: string | undefined, reason: string, options?: ErrorOptions) {
    super(
      'BACKLOT_EVENTS_CATALOG_INVALID',
      `defineEventCatalog: ${eventName ? `event '${eventName}': ` : ''}${reason}`,
      options,
    );
    this.eventName = eventName;
  }
}

/**
 * How a transport's `send` fails: which messages were not acknowledged (to be
 * sent again: the broker is unreachable or failing), and which the broker
 * refused for good (never sent again). Messages in neither list were
 * acknowledged and must not be sent again. Any other rejection of `send`
 * means that nothing was acknowledged.
 */
export class TransportSendError extends EventsError {
  /** Messages not acknowledged, in the order given to `send`: send them again after a backoff. */
  readonly unsent: readonly OutgoingMessage[];
  /** Messages the broker refused with a non-retriable error: never send them again. */
  readonly rejected: readonly RejectedMessage[];

  constructor(
    message: string,
    unsent: readonly OutgoingMessage[],
    rejected: readonly RejectedMessage[],
    options?: ErrorOptions,
  ) {
    super('BACKLOT_EVENTS_SEND_FAILED', message, options);
    this.unsent = unsent;
    this.rejected = rejected;
  }
}

/**
 * Rejected by `flush()` when the broker refused events for good (poison events:
 * too large, invalid, topic missing or not authorised) since the last `flush()`
 * and nothing kept them: no dead-letter topic took them, no spool's dead-letter
 * file, no `onDeadLetter` callback. The events are in `letters`, to be fixed and
 * emitted again; the producer goes on with the others.
 */
export class EventsRefusedError extends EventsError {
  /** The refused events, oldest first. */
  readonly letters: readonly DeadLetter[];

  constructor(letters: readonly DeadLetter[]) {
    const first = letters[0];
    super(
      'BACKLOT_EVENTS_REFUSED',
      `${letters.length} event(s) refused for good by the broker and kept nowhere` +
        (first ? ` (first: topic '${first.topic}', ${first.code}: ${first.reason})` : '') +
        '; they are in error.letters. Configure deadLetter: { topic }, a spool, or onDeadLetter to keep them',
    );
    this.letters = letters;
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

/** True when `error` is an {@link EventVersionError}, from any copy of the package. */
export function isEventVersionError(error: unknown): error is EventVersionError {
  return hasCode(error, 'BACKLOT_EVENT_VERSION_UNKNOWN');
}

/** True when `error` is an {@link UpcastError}, from any copy of the package. */
export function isUpcastError(error: unknown): error is UpcastError {
  return hasCode(error, 'BACKLOT_EVENT_UPCAST_FAILED');
}

/** True when `error` is a {@link SchemaSnapshotError}, from any copy of the package. */
export function isSchemaSnapshotError(error: unknown): error is SchemaSnapshotError {
  return hasCode(error, 'BACKLOT_EVENTS_SNAPSHOT_INVALID');
}

/** True when `error` is a {@link ClosedError}, from any copy of the package. */
export function isClosedError(error: unknown): error is ClosedError {
  return hasCode(error, 'BACKLOT_EVENTS_CLOSED');
}

/** True when `error` is a {@link FlushTimeoutError}, from any copy of the package. */
export function isFlushTimeoutError(error: unknown): error is FlushTimeoutError {
  return hasCode(error, 'BACKLOT_EVENTS_TIMEOUT');
}

/** True when `error` is a {@link SpoolLockedError}, from any copy of the package. */
export function isSpoolLockedError(error: unknown): error is SpoolLockedError {
  return hasCode(error, 'BACKLOT_EVENTS_SPOOL_LOCKED');
}

/** True when `error` is an {@link EventTooLargeError}, from any copy of the package. */
export function isEventTooLargeError(error: unknown): error is EventTooLargeError {
  return hasCode(error, 'BACKLOT_EVENT_TOO_LARGE');
}

/** True when `error` is an {@link EventEncodeError}, from any copy of the package. */
export function isEventEncodeError(error: unknown): error is EventEncodeError {
  return hasCode(error, 'BACKLOT_EVENT_UNENCODABLE');
}

/** True when `error` is a {@link CatalogError}, from any copy of the package. */
export function isCatalogError(error: unknown): error is CatalogError {
  return hasCode(error, 'BACKLOT_EVENTS_CATALOG_INVALID');
}

/** True when `error` is a {@link TransportSendError}, from any copy of the package. */
export function isTransportSendError(error: unknown): error is TransportSendError {
  return hasCode(error, 'BACKLOT_EVENTS_SEND_FAILED');
}

/** True when `error` is an {@link EventsRefusedError}, from any copy of the package. */
export function isEventsRefusedError(error: unknown): error is EventsRefusedError {
  return hasCode(error, 'BACKLOT_EVENTS_REFUSED');
}
