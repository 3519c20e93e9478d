import { tracingChannel } from 'node:diagnostics_channel';
import { recordSpanError as recordError } from '@backlot/metrics-core/tracing';
import {
  type Attributes,
  type Context,
  context,
  type Link,
  type Span,
  type SpanContext,
  SpanKind,
  type Tracer,
  trace,
} from '@opentelemetry/api';
import { PROCESS_CHANNEL, type ProcessMessage } from '../diagnostics/channels.js';
import type { ConsumedBatch, ConsumedMessage } from '../transport/types.js';
import { extractSpanContext } from './context-headers.js';
import { eventsTracer } from './tracer.js';

const processChannel = tracingChannel<unknown, ProcessMessage & object>(PROCESS_CHANNEL);

/** Most links a batch span carries (one per distinct producer trace of the batch). */
const MAX_LINKS = 128;

/** What the pipeline notes of one record while it processes it, for its span. @internal */
export interface ProcessNote {
  /** The decoded event's name and id (unset: it could not be decoded). */
  event: { name: string; id: string } | undefined;
  /** Set when the record went to the dead-letter topic instead, with why. */
  deadLettered: { stage: 'decode' | 'process'; error: unknown } | undefined;
}

/** What an untraced record's processing writes to: shared, never read, keeps nothing. */
const UNRECORDED: ProcessNote = {
  get event() {
    return undefined;
  },
  set event(_: ProcessNote['event']) {},
  get deadLettered() {
    return undefined;
  },
  set deadLettered(_: ProcessNote['deadLettered']) {},
};

function messagingAttributes(pipeline: string, topic: string, partition: number): Attributes {
  return {
    'messaging.system': 'kafka',
    'messaging.destination.name': topic,
    'messaging.destination.partition.id': String(partition),
    'messaging.consumer.group.name': pipeline,
  };
}

/**
 * Runs `handle` (one consumed batch) in a consumer span `receive <topic>` when
 * an OpenTelemetry SDK is registered and the batch mixes records of different
 * traces: the span links each producer's span context (at most 128), and the
 * records without a context of their own are processed under it. A batch of one
 * trace (or none) makes no batch span: each record's span continues its
 * producer's trace directly.
 * @internal
 */
export async function traceBatch(pipeline: string, batch: ConsumedBatch, handle: () => Promise<void>): Promise<void> {
  const tracer = eventsTracer();
  if (tracer === undefined || batch.messages.length < 2) return handle();
  const links = linksOf(batch.messages);
  if (links.length < 2) return handle();
  const span = tracer.startSpan(`receive ${batch.topic}`, {
    kind: SpanKind.CONSUMER,
    attributes: {
      ...messagingAttributes(pipeline, batch.topic, batch.partition),
      'messaging.operation.type': 'receive',
      'messaging.operation.name': 'receive',
      'messaging.batch.message_count': batch.messages.length,
    },
    links,
  });
  try {
    await context.with(trace.setSpan(context.active(), span), handle);
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    span.end();
  }
}

/** One link per distinct producer span of the batch's records, when they belong to more than one trace. */
function linksOf(messages: readonly ConsumedMessage[]): Link[] {
  const links: Link[] = [];
  const seen = new Set<string>();
  const traces = new Set<string>();
  for (const message of messages) {
    const producer = extractSpanContext(message.headers);
    if (producer === undefined || seen.has(producer.spanId)) continue;
    seen.add(producer.spanId);
    traces.add(producer.traceId);
    if (links.length < MAX_LINKS) links.push({ context: producer });
  }
  return traces.size > 1 ? links : [];
}

/**
 * Runs `process` (decode one consumed record and run the processing graph) as
 * one traced record: with an OpenTelemetry SDK, a consumer span
 * `process <topic>` that continues the producer's trace (its `traceparent`
 * header is the span's parent; a record without one is processed under the
 * active span: the batch's, or a new trace) and is active while the graph runs,
 * so spans of the user's processors and sinks nest under it; with subscribers,
 * the {@link PROCESS_CHANNEL} tracing channel. Without either, `process` runs
 * as is with a shared note nobody reads.
 * @internal
 */
export function traceProcess(
  pipeline: string,
  message: ConsumedMessage,
  process: (note: ProcessNote) => Promise<void>,
): Promise<void> {
  const tracer = eventsTracer();
  if (tracer === undefined && !processChannel.hasSubscribers) return process(UNRECORDED);
  const run =
    tracer === undefined ? () => process(UNRECORDED) : () => processInSpan(tracer, pipeline, message, process);
  if (!processChannel.hasSubscribers) return run();
  const channelMessage: ProcessMessage = {
    pipeline,
    topic: message.topic,
    partition: message.partition,
    offset: message.offset,
  };
  return processChannel.tracePromise(run, channelMessage);
}

async function processInSpan(
  tracer: Tracer,
  pipeline: string,
  message: ConsumedMessage,
  process: (note: ProcessNote) => Promise<void>,
): Promise<void> {
  const producer: SpanContext | undefined = extractSpanContext(message.headers);
  const active = context.active();
  const parent: Context = producer === undefined ? active : trace.setSpanContext(active, producer);
  const attributes = messagingAttributes(pipeline, message.topic, message.partition);
  attributes['messaging.operation.type'] = 'process';
  attributes['messaging.operation.name'] = 'process';
  attributes['messaging.kafka.offset'] = Number(message.offset);
  const span: Span = tracer.startSpan(`process ${message.topic}`, { kind: SpanKind.CONSUMER, attributes }, parent);
  if (!span.isRecording()) {
    // Sampled out (the producer's trace was): its context still reaches the processors' own spans.
    span.end();
    return context.with(trace.setSpan(parent, span), () => process(UNRECORDED));
  }
  const note: ProcessNote = { event: undefined, deadLettered: undefined };
  try {
    await context.with(trace.setSpan(parent, span), () => process(note));
  } catch (error) {
    recordError(span, error);
    throw error;
  } finally {
    if (note.event) {
      span.setAttribute('backlot.event.name', note.event.name);
      span.setAttribute('messaging.message.id', note.event.id);
    }
    if (note.deadLettered) {
      span.setAttribute('backlot.events.dead_letter_stage', note.deadLettered.stage);
      recordError(span, note.deadLettered.error);
    }
    span.end();
  }
}
