import { headersSize, type LogRecord } from '../log/record.js';
import type { Traced } from '../tracing/emit-span.js';

/**
 * @internal a record the producer holds, with the bytes it counts against
 * `bufferBytes`, and the span of its emit while it is traced and unsettled.
 */
export interface Pending extends LogRecord, Traced {
  size: number;
}

/** @internal the {@link Pending} form of `record`. */
export const pending = (record: LogRecord): Pending => ({
  ...record,
  size: record.value.length + record.topic.length + (record.key?.length ?? 0) + 64 + headersSize(record.headers),
});
