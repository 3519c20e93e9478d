import { headersSize, type LogRecord } from '../log/record.js';

/** @internal a record the producer holds, with the bytes it counts against `bufferBytes`. */
export interface Pending extends LogRecord {
  size: number;
}

/** @internal the {@link Pending} form of `record`. */
export const pending = (record: LogRecord): Pending => ({
  ...record,
  size: record.value.length + record.topic.length + (record.key?.length ?? 0) + 64 + headersSize(record.headers),
});
