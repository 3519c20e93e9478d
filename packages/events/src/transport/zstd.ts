import * as zlib from 'node:zlib';

/** Whether this Node.js has zstd in `node:zlib` (22.15 and later). @internal */
export const zstdAvailable = typeof zlib.zstdCompress === 'function';
