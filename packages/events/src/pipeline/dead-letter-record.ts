import type { EventIssue } from '../errors.js';

/**
 * Why a consumed record was dead-lettered, in the terms of the catalogue:
 * the error's code, the rule that failed and where, and the event's name and
 * wire version when they could be read. @internal
 */
export interface FailureDescription {
  /** The error's stable code (`BACKLOT_EVENT_INVALID`, …), or `BACKLOT_PROCESS_FAILED` for a throwing processor without one. */
  code: string;
  /** The rule that failed: a zod issue code (`invalid_type`), `version-unknown`, `upcast-threw`, `event-unknown`, `not-json`, `processor-threw`. */
  rule: string;
  /** The offending field (`payload.titleId`), when one is known. */
  field?: string | undefined;
  /** The event name, when readable. */
  event?: string | undefined;
  /** The event's version on the wire, when readable. */
  version?: number | undefined;
}

interface ErrorFields {
  code?: unknown;
  eventName?: unknown;
  version?: unknown;
  fromVersion?: unknown;
  issues?: readonly EventIssue[];
}

/** The `name` and `version` of an envelope on the wire, when it is JSON that has them. */
function wireIdentity(value: Buffer | null): { event?: string; version?: number } {
  if (!value) return {};
  try {
    const raw = JSON.parse(value.toString('utf8')) as { name?: unknown; version?: unknown } | null;
    return {
      ...(typeof raw?.name === 'string' ? { event: raw.name } : {}),
      ...(typeof raw?.version === 'number' ? { version: raw.version } : {}),
    };
  } catch {
    return {};
  }
}

/** Describes why `value` failed at `stage` with `error`. @internal */
export function describeFailure(stage: 'decode' | 'process', error: unknown, value: Buffer | null): FailureDescription {
  const fields = (typeof error === 'object' && error !== null ? error : {}) as ErrorFields;
  const code =
    typeof fields.code === 'string'
      ? fields.code
      : stage === 'process'
        ? 'BACKLOT_PROCESS_FAILED'
        : 'BACKLOT_DECODE_FAILED';
  const first = fields.issues?.[0];
  let rule: string;
  let field: string | undefined = first?.path || undefined;
  switch (code) {
    case 'BACKLOT_EVENT_VERSION_UNKNOWN':
      rule = 'version-unknown';
      field = 'version';
      break;
    case 'BACKLOT_EVENT_UNKNOWN':
      rule = 'event-unknown';
      field = 'name';
      break;
    case 'BACKLOT_EVENT_UPCAST_FAILED':
      rule = first ? `upcast-output-${first.rule ?? 'invalid'}` : 'upcast-threw';
      break;
    case 'BACKLOT_EVENT_INVALID':
      rule = first?.rule ?? 'invalid';
      break;
    default:
      rule = stage === 'process' ? 'processor-threw' : 'invalid';
  }
  // The wire's own version: for an event decoded from an older version, the one it was written with.
  const wire = wireIdentity(value);
  const event = wire.event ?? (typeof fields.eventName === 'string' ? fields.eventName : undefined);
  return {
    code,
    rule,
    ...(field ? { field } : {}),
    ...(event ? { event } : {}),
    ...(wire.version !== undefined ? { version: wire.version } : {}),
  };
}
