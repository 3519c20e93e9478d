/**
 * One large streamed transfer in a fresh process, so that its peak RSS is the
 * transfer's own: `node bench/lib/storage-transfer.ts <backlot|aws-sdk> <bucket> <bytes>`.
 * Uploads a generated body of <bytes> (unknown length), downloads it, checks
 * the SHA-256 both ways, and prints `{ upload_mib_s, download_mib_s, peak_rss_mib }`.
 */
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { DeleteObjectCommand, GetObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createS3Store } from '@backlot/storage';

const [subject, bucket, bytesArg] = process.argv.slice(2) as [string, string, string];
const bytes = Number(bytesArg);
const endpoint = process.env.BACKLOT_S3_ENDPOINT ?? 'http://127.0.0.1:9000';
const config = {
  endpoint,
  region: process.env.BACKLOT_S3_REGION ?? 'us-east-1',
  forcePathStyle: true,
  credentials: {
    accessKeyId: process.env.BACKLOT_S3_ACCESS_KEY_ID ?? 'test',
    secretAccessKey: process.env.BACKLOT_S3_SECRET_ACCESS_KEY ?? 'test',
  },
};
/** Same multipart settings for both subjects: lib-storage's defaults (5 MiB parts, 4 in flight). */
const partSize = 5 * 1024 * 1024;
const queueSize = 4;
const MiB = 1024 * 1024;

function body(): { stream: Readable; digest: () => string } {
  const block = randomBytes(MiB);
  const hash = createHash('sha256');
  let sent = 0;
  let index = 0;
  const stream = new Readable({
    highWaterMark: MiB,
    read() {
      if (sent >= bytes) return void this.push(null);
      const size = Math.min(MiB, bytes - sent);
      const chunk = Buffer.allocUnsafe(size);
      block.copy(chunk, 0, 0, size);
      chunk.writeUInt32BE(index++, 0);
      hash.update(chunk);
      sent += size;
      this.push(chunk);
    },
  });
  return { stream, digest: () => hash.digest('hex') };
}

async function drain(stream: AsyncIterable<Uint8Array>): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of stream) hash.update(chunk);
  return hash.digest('hex');
}

const key = `transfer-${subject}-${process.pid}`;
const before = process.memoryUsage.rss() / MiB;
const client = new S3Client(config);
const source = body();
let uploadMs: number;
let downloadMs: number;
let received: string;

if (subject === 'backlot') {
  const store = createS3Store({ bucket, client, partSize, queueSize });
  let t = performance.now();
  await store.put(key, source.stream);
  uploadMs = performance.now() - t;
  t = performance.now();
  received = await drain((await store.getStream(key)).body);
  downloadMs = performance.now() - t;
} else {
  let t = performance.now();
  await new Upload({ client, params: { Bucket: bucket, Key: key, Body: source.stream }, partSize, queueSize }).done();
  uploadMs = performance.now() - t;
  t = performance.now();
  const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
  received = await drain(out.Body as Readable);
  downloadMs = performance.now() - t;
}
if (received !== source.digest()) throw new Error(`${subject}: downloaded bytes differ from the uploaded ones`);
const peak = process.resourceUsage().maxRSS / 1024; // KiB → MiB
await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
client.destroy();
console.log(
  JSON.stringify({
    upload_mib_s: bytes / MiB / (uploadMs / 1000),
    download_mib_s: bytes / MiB / (downloadMs / 1000),
    peak_rss_mib: peak,
    rss_growth_mib: peak - before,
  }),
);
