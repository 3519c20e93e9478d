/**
 * @internal Kafka's default partitioning, as the Java client and kafkajs do it:
 * `murmur2(key) & 0x7fffffff % partitions` for a keyed message, round robin for
 * the others. The Kafka transports pick each message's partition themselves so
 * that every partition is written by exactly one of their connections.
 */
export function murmur2(data: Uint8Array): number {
  const m = 0x5bd1e995;
  const length = data.length;
  let h = (0x9747b28c ^ length) | 0;
  const whole = length & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k =
      (data[i] as number) |
      ((data[i + 1] as number) << 8) |
      ((data[i + 2] as number) << 16) |
      ((data[i + 3] as number) << 24);
    k = Math.imul(k, m);
    k ^= k >>> 24;
    k = Math.imul(k, m);
    h = Math.imul(h, m) ^ k;
  }
  const rest = length & 3;
  if (rest === 3) h ^= (data[whole + 2] as number) << 16;
  if (rest >= 2) h ^= (data[whole + 1] as number) << 8;
  if (rest >= 1) {
    h ^= data[whole] as number;
    h = Math.imul(h, m);
  }
  h ^= h >>> 13;
  h = Math.imul(h, m);
  h ^= h >>> 15;
  return h | 0;
}

/** `murmur2` of a string's UTF-8 bytes, without a Buffer for ASCII keys (the usual ids). */
function hashKey(key: string, scratch: Uint8Array): number {
  if (key.length > scratch.length) return murmur2(Buffer.from(key));
  for (let i = 0; i < key.length; i++) {
    const code = key.charCodeAt(i);
    if (code > 0x7f) return murmur2(Buffer.from(key));
    scratch[i] = code;
  }
  return murmur2(scratch.subarray(0, key.length));
}

const scratch = new Uint8Array(256);

/** @internal The partition of `key` among `partitions`, as kafkajs and the Java client choose it. */
export function partitionOfKey(key: string, partitions: number): number {
  return (hashKey(key, scratch) & 0x7fffffff) % partitions;
}

/** @internal Messages of one batch grouped by partition, each group in batch order. */
export function groupByPartition<T extends { key: string | null }>(
  messages: readonly T[],
  partitions: number,
  roundRobin: { next: number },
): Map<number, T[]> {
  const groups = new Map<number, T[]>();
  for (const message of messages) {
    const partition = message.key === null ? roundRobin.next++ % partitions : partitionOfKey(message.key, partitions);
    const group = groups.get(partition);
    if (group) group.push(message);
    else groups.set(partition, [message]);
  }
  return groups;
}

/** @internal Splits `messages` into runs of at most `maxBytes` (keys and values), in order; a run has at least one message. */
export function chunkByBytes<T>(messages: readonly T[], maxBytes: number, sizeOf: (message: T) => number): T[][] {
  const chunks: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const message of messages) {
    const size = sizeOf(message);
    if (current.length > 0 && bytes + size > maxBytes) {
      chunks.push(current);
      current = [];
      bytes = 0;
    }
    current.push(message);
    bytes += size;
  }
  if (current.length > 0) chunks.push(current);
  return chunks;
}
