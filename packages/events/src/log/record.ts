/** @internal a message as the producer, spool and embedded log hold it. */
export interface LogRecord {
  /** Destination topic. */
  topic: string;
  /** Partitioning key, or null. */
  key: string | null;
  /** Encoded event. */
  value: Buffer;
  /** When it was emitted (ms since epoch). */
  timestamp: number;
}

/** @internal binary layout: u16 topic length, topic, i32 key length (-1: null), key, f64 timestamp, value. */
export function encodeRecord(record: LogRecord): Buffer {
  const topic = Buffer.from(record.topic, 'utf8');
  const key = record.key === null ? null : Buffer.from(record.key, 'utf8');
  const out = Buffer.allocUnsafe(2 + topic.length + 4 + (key?.length ?? 0) + 8 + record.value.length);
  let at = out.writeUInt16BE(topic.length, 0);
  at += topic.copy(out, at);
  at = out.writeInt32BE(key ? key.length : -1, at);
  if (key) at += key.copy(out, at);
  at = out.writeDoubleBE(record.timestamp, at);
  record.value.copy(out, at);
  return out;
}

/** @internal inverse of {@link encodeRecord}; copies the value out of `bytes`. */
export function decodeRecord(bytes: Buffer): LogRecord {
  const topicLength = bytes.readUInt16BE(0);
  let at = 2;
  const topic = bytes.toString('utf8', at, at + topicLength);
  at += topicLength;
  const keyLength = bytes.readInt32BE(at);
  at += 4;
  let key: string | null = null;
  if (keyLength >= 0) {
    key = bytes.toString('utf8', at, at + keyLength);
    at += keyLength;
  }
  const timestamp = bytes.readDoubleBE(at);
  at += 8;
  return { topic, key, value: Buffer.from(bytes.subarray(at)), timestamp };
}

/** @internal bytes a record takes in memory/on disk, roughly. */
export function recordSize(record: LogRecord): number {
  return record.value.length + record.topic.length + (record.key?.length ?? 0) + 24;
}
