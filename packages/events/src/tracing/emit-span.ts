import { tracingChannel } from 'node:diagnostics_channel';
import { recordSpanError as recordError } from '@backlot/metrics-core/tracing';
import { type Attributes, context, SpanKind, TraceFlags, trace } from '@opentelemetry/api';
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
 * Runs `admit` (which queues the event's record, with the headers it is given)
 * as one traced emit: with an OpenTelemetry SDK, a producer span
 * `emit <topic>` (messaging semantic conventions) whose W3C trace context is
 * passed to `admit` as record headers, so the consumer's span continues the
 * trace — through the spool and a replay too, as the headers are kept with the
 * record; with subscribers, the {@link EMIT_CHANNEL} tracing channel. Without
 * either, `admit(undefined)` runs as is: one check, no allocation.
 *
 * Inside a trace that was sampled out, no span is made (the SDK's sampler
 * would not record it) but its context is still written, so the consumer's
 * span is not sampled either.
 * @internal
 */
export function traceEmit<T>(emit: EmitDescription, admit: (headers: Record<string, string> | undefined) => T): T {
  const tracer = eventsTracer();
  if (tracer === undefined) {
    return emitChannel.hasSubscribers
      ? emitChannel.traceSync(admit, messageOf(emit), undefined, undefined)
      : admit(undefined);
  }
  const active = context.active();
  const parent = trace.getSpan(active);
  if (parent !== undefined && (parent.spanContext().traceFlags & TraceFlags.SAMPLED) === 0) {
    const headers = injectTraceHeaders(active);
    return emitChannel.hasSubscribers
      ? emitChannel.traceSync(admit, messageOf(emit), undefined, headers)
      : admit(headers);
  }
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
  try {
    const result = emitChannel.hasSubscribers
      ? emitChannel.traceSync(admit, messageOf(emit), undefined, headers)
      : admit(headers);
    // `emit()` returns whether the producer keeps up (false: buffer filling, spooling, holding).
    if (typeof result === 'boolean') span.setAttribute('backlot.events.keeping_up', result);
    return result;
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

function messageOf(emit: EmitDescription): EmitMessage {
  return { producer: emit.producer, event: emit.event.name, id: emit.event.id, topic: emit.topic, key: emit.key };
}
