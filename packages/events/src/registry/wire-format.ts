import { RegistryError } from './errors.js';

/** The first byte of a record in the Confluent wire format. */
export const MAGIC_BYTE = 0;
/** Bytes before the payload: the magic byte and a 4-byte big-endian schema id. */
export const FRAME_HEADER_BYTES = 5;
const MAX_SCHEMA_ID = 0x7fff_ffff;

/** A record in the Confluent wire format, taken apart. */
export interface Unframed {
  /** The registry's schema id. */
  schemaId: number;
  /** The payload bytes (JSON, for JSON Schema). */
  payload: Buffer;
}

/**
 * True when `bytes` starts with the magic byte: a record in the Confluent wire
 * format (a plain JSON envelope starts with `{` or whitespace, never with byte 0).
 */
export function isFramed(bytes: Uint8Array): boolean {
  return bytes.length > 0 && bytes[0] === MAGIC_BYTE;
}

/**
 * `payload` in the Confluent wire format: magic byte 0, the schema id (4 bytes, big-endian),
 * the payload (bytes, or text written as UTF-8 straight into the frame).
 */
export function frame(schemaId: number, payload: Uint8Array | string): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > MAX_SCHEMA_ID) {
    throw new RangeError(`schema id must be an integer from 0 to ${MAX_SCHEMA_ID}, got ${schemaId}`);
  }
  const text = typeof payload === 'string';
  const out = Buffer.allocUnsafe(FRAME_HEADER_BYTES + (text ? Buffer.byteLength(payload, 'utf8') : payload.length));
  out[0] = MAGIC_BYTE;
  out.writeUInt32BE(schemaId, 1);
  if (text) out.write(payload, FRAME_HEADER_BYTES, 'utf8');
  else out.set(payload, FRAME_HEADER_BYTES);
  return out;
}

/**
 * Takes a wire-format record apart (the payload is a view, not a copy).
 * @throws {RegistryError} `BACKLOT_EVENTS_REGISTRY_BAD_FRAME` when it does not start with the
 * magic byte, is shorter than the 5-byte header, or carries a negative schema id.
 */
export function unframe(bytes: Uint8Array): Unframed {
  const buffer = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buffer.length === 0 || buffer[0] !== MAGIC_BYTE) {
    throw new RegistryError(
      'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
      `record does not start with the wire-format magic byte 0 (got ${buffer.length === 0 ? 'no bytes' : `0x${(buffer[0] as number).toString(16).padStart(2, '0')}`})`,
    );
  }
  if (buffer.length < FRAME_HEADER_BYTES) {
    throw new RegistryError(
      'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
      `record is ${buffer.length} byte(s): a wire-format record has a ${FRAME_HEADER_BYTES}-byte header (magic byte + 4-byte schema id)`,
    );
  }
  const schemaId = buffer.readUInt32BE(1);
  if (schemaId > MAX_SCHEMA_ID) {
    throw new RegistryError(
      'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
      `record carries schema id ${buffer.readInt32BE(1)}: schema ids are 0 to ${MAX_SCHEMA_ID}`,
      { schemaId },
    );
  }
  return { schemaId, payload: buffer.subarray(FRAME_HEADER_BYTES) };
}
