import { crc32 } from 'node:zlib';

/** @internal bytes of a frame header: payload length (u32 BE) then CRC-32 of the payload (u32 BE). */
export const FRAME_HEADER = 8;

/** @internal frames `payload` as `[length][crc32][payload]`. */
export function encodeFrame(payload: Buffer): Buffer {
  const frame = Buffer.allocUnsafe(FRAME_HEADER + payload.length);
  frame.writeUInt32BE(payload.length, 0);
  frame.writeUInt32BE(crc32(payload), 4);
  payload.copy(frame, FRAME_HEADER);
  return frame;
}

/** @internal one frame read back. */
export interface Frame {
  /** Payload bytes (a view into the read buffer). */
  payload: Buffer;
  /** Offset of the frame's first byte in the buffer. */
  start: number;
  /** Offset just past the frame. */
  end: number;
}

/** @internal why a scan stopped before the end of the buffer. */
export type ScanStop = 'end' | 'partial' | 'corrupt';

/**
 * @internal reads whole, checksum-valid frames from `buffer` starting at `offset`.
 * Stops at the first incomplete frame (`partial`: more bytes may come, or a torn
 * write) or at the first frame whose checksum fails (`corrupt`).
 */
export function scanFrames(buffer: Buffer, offset = 0): { frames: Frame[]; next: number; stop: ScanStop } {
  const frames: Frame[] = [];
  let at = offset;
  while (true) {
    if (at === buffer.length) return { frames, next: at, stop: 'end' };
    if (buffer.length - at < FRAME_HEADER) return { frames, next: at, stop: 'partial' };
    const length = buffer.readUInt32BE(at);
    const end = at + FRAME_HEADER + length;
    if (end > buffer.length) return { frames, next: at, stop: 'partial' };
    const payload = buffer.subarray(at + FRAME_HEADER, end);
    if (crc32(payload) !== buffer.readUInt32BE(at + 4)) return { frames, next: at, stop: 'corrupt' };
    frames.push({ payload, start: at, end });
    at = end;
  }
}
