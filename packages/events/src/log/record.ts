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
  /** Kafka record headers (the W3C trace context of the emit, when traced), kept through spool and replay. */
  headers?: Readonly<Record<string, string>> | undefined;
}

/** Set in the topic-length field of a record that carries headers (records written before headers had none). */
const HAS_HEADERS = 0x8000;
/** Longest topic name the layout holds (Kafka's own limit is 249 characters). */
const MAX_TOPIC_BYTES = 0x7fff;

function headerEntries(record: LogRecord): [Buffer, Buffer][] | undefined {
  const headers = record.headers;
  if (headers === undefined) return undefined;
  const entries: [Buffer, Buffer][] = [];
  for (const name in headers) {
    const value = headers[name];
    if (typeof value === 'string') entries.push([Buffer.from(name, 'utf8'), Buffer.from(value, 'utf8')]);
  }
  return entries.length === 0 ? undefined : entries;
}

/**
 * @internal binary layout: u16 topic length (high bit: headers follow), topic, i32 key length (-1: null),
 * key, f64 timestamp, [u16 header count, then per header u16 name length, name, u32 value length, value], value.
 * Records without headers are written exactly as before headers existed, so older spools and logs read back.
 */
export function encodeRecord(record: LogRecord): Buffer {
  const topic = Buffer.from(record.topic, 'utf8');
  if (topic.length > MAX_TOPIC_BYTES) {
    throw new RangeError(`topic name is ${topic.length} bytes; at most ${MAX_TOPIC_BYTES} fit (Kafka allows 249)`);
  }
  const key = record.key === null ? null : Buffer.from(record.key, 'utf8');
  const headers = headerEntries(record);
  let headerBytes = 0;
  if (headers) {
    headerBytes = 2;
    for (const [name, value] of headers) headerBytes += 2 + name.length + 4 + value.length;
  }
  const out = Buffer.allocUnsafe(2 + topic.length + 4 + (key?.length ?? 0) + 8 + headerBytes + record.value.length);
  let at = out.writeUInt16BE(headers ? topic.length | HAS_HEADERS : topic.length, 0);
  at += topic.copy(out, at);
  at = out.writeInt32BE(key ? key.length : -1, at);
  if (key) at += key.copy(out, at);
  at = out.writeDoubleBE(record.timestamp, at);
  if (headers) {
    at = out.writeUInt16BE(headers.length, at);
    for (const [name, value] of headers) {
      at = out.writeUInt16BE(name.length, at);
      at += name.copy(out, at);
      at = out.writeUInt32BE(value.length, at);
      at += value.copy(out, at);
    }
  }
  record.value.copy(out, at);
  return out;
}

/** @internal inverse of {@link encodeRecord}; copies the value out of `bytes`. */
export function decodeRecord(bytes: Buffer): LogRecord {
  const first = bytes.readUInt16BE(0);
  const topicLength = first & MAX_TOPIC_BYTES;
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
  if ((first & HAS_HEADERS) === 0) return { topic, key, value: Buffer.from(bytes.subarray(at)), timestamp };
  const count = bytes.readUInt16BE(at);
  at += 2;
  // Null prototype: a header named `__proto__` (any name a producer wrote) is kept as data.
  const headers: Record<string, string> = Object.create(null);
  for (let i = 0; i < count; i++) {
    const nameLength = bytes.readUInt16BE(at);
    at += 2;
    const name = bytes.toString('utf8', at, at + nameLength);
    at += nameLength;
    const valueLength = bytes.readUInt32BE(at);
    at += 4;
    headers[name] = bytes.toString('utf8', at, at + valueLength);
    at += valueLength;
  }
  return { topic, key, value: Buffer.from(bytes.subarray(at)), timestamp, headers };
}

/** @internal bytes of `headers` as the spool and the broker count them, roughly. */
export function headersSize(headers: Readonly<Record<string, string>> | undefined): number {
  if (headers === undefined) return 0;
  let size = 0;
  for (const name in headers) size += name.length + (headers[name]?.length ?? 0) + 8;
  return size;
}

/** @internal bytes a record takes in memory/on disk, roughly. */
export function recordSize(record: LogRecord): number {
  return record.value.length + record.topic.length + (record.key?.length ?? 0) + 24 + headersSize(record.headers);
}
