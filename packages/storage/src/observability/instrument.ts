import { tracingChannel } from 'node:diagnostics_channel';
import { insideUnsampledTrace, recordSpanError } from '@backlot/metrics-core/tracing';
import { type Attributes, context, type Span, SpanKind, trace } from '@opentelemetry/api';
import type { ObjectStore } from '../core/types.js';
import { STORAGE_OPERATION_CHANNEL, type StorageOperationMessage } from '../diagnostics/channels.js';
import { outcomeOf, statsOf } from './operation-stats.js';
import { currentTracer } from './tracer.js';

const operationChannel = tracingChannel<unknown, StorageOperationMessage & object>(STORAGE_OPERATION_CHANNEL);

/** The operations measured on every store; `list` is measured through the `listPage` calls it makes. */
const OPERATIONS = ['put', 'get', 'getStream', 'head', 'delete', 'deleteMany', 'listPage', 'copy', 'presign'] as const;

const now = performance.now.bind(performance);

function endSpan(span: Span, outcome: string, error: unknown): void {
  span.setAttribute('backlot.storage.outcome', outcome);
  if (error !== undefined) recordSpanError(span, error);
  span.end();
}

/**
 * Measures every operation of `store` in place (same object, same extra
 * members): count by outcome and latency for the Prometheus families, a
 * client span per operation when an OpenTelemetry SDK is registered, and the
 * `backlot:storage:operation` tracing channel when someone subscribes. Without
 * an SDK or subscriber, the cost is two clock readings and two counter updates.
 * @internal
 */
export function instrumentStore<S extends ObjectStore>(store: S): S {
  return instrumentMethods(store, store.adapter, Object.fromEntries(OPERATIONS.map((op) => [op, op])));
}

/**
 * Measures the promise-returning methods of `target` named in `operations`
 * (method name → operation label, e.g. `{ get: 'kv.get' }`) in place, as
 * {@link instrumentStore} does for a whole store: `store` is the adapter label.
 * The first argument, when a string, is the span's and the channel's key.
 * @internal
 */
export function instrumentMethods<O extends object>(
  target: O,
  store: string,
  operations: Readonly<Record<string, string>>,
): O {
  const methods = target as unknown as Record<string, unknown>;
  for (const [method, operation] of Object.entries(operations)) {
    const original = methods[method];
    if (typeof original !== 'function') continue;
    methods[method] = measured(store, operation, original as (...args: unknown[]) => Promise<unknown>);
  }
  return target;
}

function measured(
  name: string,
  operation: string,
  fn: (...args: unknown[]) => Promise<unknown>,
): (...args: unknown[]) => Promise<unknown> {
  const stats = statsOf(name, operation);
  return function instrumented(this: unknown, ...args: unknown[]): Promise<unknown> {
    const start = now();
    const key = typeof args[0] === 'string' ? args[0] : undefined;
    const tracer = currentTracer();
    let span: Span | undefined;
    const call = () => {
      try {
        return Promise.resolve(fn.apply(this, args));
      } catch (error) {
        return Promise.reject(error);
      }
    };
    let run = call;
    // Inside a sampled-out trace no span is made: the active context already carries it on.
    if (tracer && !insideUnsampledTrace()) {
      const attributes: Attributes = { 'backlot.storage.store': name, 'backlot.storage.operation': operation };
      if (key !== undefined) attributes['backlot.storage.key'] = key;
      const started = tracer.startSpan(`storage.${operation}`, { kind: SpanKind.CLIENT, attributes });
      const active = trace.setSpan(context.active(), started);
      run = () => context.with(active, call);
      // A span the sampler did not record only carries its (unsampled) context to the adapter's own spans.
      if (started.isRecording()) span = started;
    }
    const promise = operationChannel.hasSubscribers
      ? operationChannel.tracePromise(run, { store: name, operation, key })
      : run();
    const done = (outcome: string, error?: unknown) => {
      stats.outcomes.set(outcome, (stats.outcomes.get(outcome) ?? 0) + 1);
      stats.latency.recordMs(now() - start);
      if (span) endSpan(span, outcome, error);
    };
    return promise.then(
      (value) => {
        done('success');
        return value;
      },
      (error: unknown) => {
        done(outcomeOf(error), error);
        throw error;
      },
    );
  };
}
