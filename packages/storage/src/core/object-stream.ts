import { Readable } from 'node:stream';
import type { ObjectInfo, ObjectStream, ReturnedRange } from './types.js';

/** Builds an {@link ObjectStream} from a description and a Node stream. */
export function objectStream(info: ObjectInfo, body: Readable, range: ReturnedRange | undefined): ObjectStream {
  return {
    ...info,
    body,
    ...(range ? { range } : {}),
    toWeb: () => Readable.toWeb(body) as unknown as ReadableStream<Uint8Array>,
  };
}
