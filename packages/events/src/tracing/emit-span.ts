import { tracingChannel } from 'node:diagnostics_channel';
import { insideUnsampledTrace, recordSpanError as recordError } from '@backlot/metrics-core/tracing';
import { type Attributes, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { EMIT_CHANNEL, type EmitMessage } from '../diagnostics/channels.js';
import { injectTraceHeaders } from './context-headers.js';
import { eventsTracer } from './tracer.js';

const emitChannel = tracingChannel<unknown, EmitMessage & object>(EMIT_CHANNEL);

/** What an emit is, for its span and channel message. @internal */
export interface EmitDescription {
  /** The producer's `source`. */
  readonly producer: string;
  /** The event's name and id. */
  readonly event: { readonly name: string; readonly id: string };
  /** The topic it goes to. */
  readonly topic: string;
  /** Its partitioning key. */
  readonly key: string | null;
}

/**
 * Whether an emit is observed (an OpenTelemetry SDK is registered, or someone
 * subscribes to {@link EMIT_CHANNEL}): when not, the producer admits the record
 * as is, with no span, header, description or closure allocated.
 * @internal
 */
export function emitObserved(): boolean {
  return emitChannel.hasSubscribers || eventsTracer() !== undefined;
}

/**
 * Runs `admit` (which queues the event's record, with the headers and span it
 * is given) as one traced emit: with an OpenTelemetry SDK, a producer span
 * `emit <topic>` (messaging semantic conventions) whose W3C trace context is
 * passed to `admit` as record headers, so the consumer's span continues the
 * trace — through the spool and a replay too, as the headers are kept with the
 * record; with subscribers, the {@link EMIT_CHANNEL} tracing channel. Without
 * either, `admit(undefined, undefined)` runs as is: one check, no allocation.
 *
 * A recording span is handed to `admit` to travel with the record, and is
 * ended by {@link settleEmitSpans} when the event's fate is known (acked by
 * the broker, durably spooled, dead-lettered or dropped), not when `emit()`
 * returns; it ends here only when `admit` throws. A span the sampler did not
 * record, or an emit inside a trace that was sampled out (then no span is
 * made at all), only writes the context into the headers (W3C: an unsampled
 * trace still propagates, with flags `00`), so the consumer's span is not
 * sampled either; no per-event span, closure or attribute then.
 * @internal
 */
export function traceEmit<T>(
  emit: EmitDescription,
  admit: (headers: Record<string, string> | undefined, span: Span | undefined) => T,
): T {
  const tracer = eventsTracer();
  if (tracer === undefined) {
    return emitChannel.hasSubscribers
      ? emitChannel.traceSync(admit, messageOf(emit), undefined, undefined, undefined)
      : admit(undefined, undefined);
  }
  const active = context.active();
  if (insideUnsampledTrace(active)) return admitUnrecorded(emit, admit, injectTraceHeaders(active));
  const attributes: Attributes = {
    'messaging.system': 'kafka',
    'messaging.destination.name': emit.topic,
    'messaging.operation.type': 'create',
    'messaging.operation.name': 'emit',
    'messaging.message.id': emit.event.id,
    'backlot.event.name': emit.event.name,
    'backlot.events.producer': emit.producer,
  };
  if (emit.key !== null) attributes['messaging.kafka.message.key'] = emit.key;
  const span = tracer.startSpan(`emit ${emit.topic}`, { kind: SpanKind.PRODUCER, attributes }, active);
  const headers = injectTraceHeaders(trace.setSpan(active, span));
  if (!span.isRecording()) return admitUnrecorded(emit, admit, headers);
  let result: T;
  try {
    result = emitChannel.hasSubscribers
      ? emitChannel.traceSync(admit, messageOf(emit), undefined, headers, span)
      : admit(headers, span);
  } catch (error) {
    recordError(span, error);
    span.end();
    throw error;
  }
  // `emit()` returns whether the producer keeps up (false: buffer filling, spooling, holding).
  if (typeof result === 'boolean') span.setAttribute('backlot.events.keeping_up', result);
  return result;
}

function admitUnrecorded<T>(
  emit: EmitDescription,
  admit: (headers: Record<string, string> | undefined, span: Span | undefined) => T,
  headers: Record<string, string> | undefined,
): T {
  return emitChannel.hasSubscribers
    ? emitChannel.traceSync(admit, messageOf(emit), undefined, headers, undefined)
    : admit(headers, undefined);
}

/** What became of an emitted event, as its span's `backlot.events.outcome`. @internal */
export type EmitOutcome = 'acked' | 'spooled' | 'dead_lettered' | 'dropped';

/** A record that may carry the span of its emit (only a recording one). @internal */
export interface Traced {
  span?: Span | undefined;
}

/**
 * Ends the emit spans of `records` (those that carry one) with `outcome`: an
 * event `acked`/`spooled`/… and the `backlot.events.outcome` attribute; a
 * dead-lettered or dropped event's span is an error (with `error`, or the
 * outcome as `error.type`). Each record's span is ended once, then forgotten.
 * @internal
 */
export function settleEmitSpans(records: Iterable<Traced>, outcome: EmitOutcome, error?: unknown): void {
  for (const record of records) if (record.span !== undefined) settleEmitSpan(record, outcome, error);
}

/** {@link settleEmitSpans} for one record. @internal */
export function settleEmitSpan(record: Traced, outcome: EmitOutcome, error?: unknown): void {
  const span = record.span;
  if (span === undefined) return;
  record.span = undefined;
  span.addEvent(outcome);
  span.setAttribute('backlot.events.outcome', outcome);
  if (outcome === 'dead_lettered' || outcome === 'dropped') {
    if (error !== undefined) recordError(span, error);
    else {
      span.setAttribute('error.type', outcome);
      span.setStatus({ code: SpanStatusCode.ERROR, message: `the event was ${outcome.replace('_', '-')}` });
    }
  }
  span.end();
}

/** What {@link settleWhenSpooled} needs of a spool. @internal */
export interface SpoolWrites {
  /** Resolves once every record appended so far is on disk. */
  written(): Promise<void>;
}

/**
 * Ends the emit spans of `records`, just handed to `spool`, once the spool
 * has them on disk: at once when `durable` (a write-through append returned),
 * after the group commit otherwise (an event `spool_queued` notes the wait).
 * One wait per spool at a time, however many records. @internal
 */
export function settleWhenSpooled(records: readonly Traced[], spool: SpoolWrites, durable: boolean): void {
  let traced: Traced[] | undefined;
  for (const record of records) {
    if (record.span === undefined) continue;
    traced ??= [];
    traced.push(record);
  }
  if (traced === undefined) return;
  if (durable) {
    settleEmitSpans(traced, 'spooled');
    return;
  }
  for (const record of traced) record.span?.addEvent('spool_queued');
  let waiting = awaitingWrite.get(spool);
  if (waiting === undefined) {
    const batch: Traced[] = [];
    waiting = batch;
    awaitingWrite.set(spool, batch);
    const settle = () => {
      awaitingWrite.delete(spool);
      settleEmitSpans(batch, 'spooled');
    };
    spool.written().then(settle, settle);
  }
  waiting.push(...traced);
}

/** Spans waiting for a spool's group commit, by spool. */
const awaitingWrite = new WeakMap<SpoolWrites, Traced[]>();

function messageOf(emit: EmitDescription): EmitMessage {
  return { producer: emit.producer, event: emit.event.name, id: emit.event.id, topic: emit.topic, key: emit.key };
}
