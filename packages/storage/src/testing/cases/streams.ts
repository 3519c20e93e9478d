import { Readable } from 'node:stream';
import { expect, it } from 'vitest';
import { isNotFoundError } from '../../errors.js';
import type { SuiteContext } from '../context.js';
import { drain, failingBody, rejection } from '../helpers.js';

const chunks = () => [Buffer.from('stream '), Buffer.from('of '), Buffer.from('unknown length')];

/** Streams in (Node, web, async iterables) and out (Node, web), failures and aborts mid-stream. */
export function streamCases(ctx: SuiteContext): void {
  it('writes a Node Readable of unknown length', async () => {
    const store = await ctx.store();
    const info = await store.put('streams/node', Readable.from(chunks()), { contentType: 'text/plain' });
    expect(info.size).toBe(24);
    expect((await store.get('streams/node')).body.toString()).toBe('stream of unknown length');
    expect((await store.head('streams/node')).size).toBe(24);
  });

  it('writes a web ReadableStream and an async iterable', async () => {
    const store = await ctx.store();
    const web = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks()) controller.enqueue(new Uint8Array(chunk));
        controller.close();
      },
    });
    await store.put('streams/web', web);
    expect((await store.get('streams/web')).body.toString()).toBe('stream of unknown length');

    async function* generate() {
      yield* chunks();
    }
    await store.put('streams/iterable', generate());
    expect((await store.get('streams/iterable')).body.toString()).toBe('stream of unknown length');
  });

  it('reads as a Node stream and as a web stream', async () => {
    const store = await ctx.store();
    const written = await store.put('streams/out', 'x'.repeat(300_000), { contentType: 'text/plain' });
    const asNode = await store.getStream('streams/out');
    expect(asNode).toMatchObject({ size: 300_000, etag: written.etag, contentType: 'text/plain' });
    expect((await drain(asNode.body)).bytes).toBe(300_000);

    const asWeb = (await store.getStream('streams/out')).toWeb();
    let total = 0;
    for await (const chunk of asWeb) total += chunk.byteLength;
    expect(total).toBe(300_000);
  });

  it('a body stream that fails leaves the previous object intact, and no new one', async () => {
    const store = await ctx.store();
    await store.put('streams/kept', 'old');
    const error = new Error('source broke');
    expect(await rejection(store.put('streams/kept', failingBody([Buffer.alloc(1000, 1)], error)))).toBeTruthy();
    expect((await store.get('streams/kept')).body.toString()).toBe('old');
    expect(await rejection(store.put('streams/never', failingBody([Buffer.alloc(1000, 1)], error)))).toBeTruthy();
    expect(isNotFoundError(await rejection(store.head('streams/never')))).toBe(true);
  });

  it('aborting a streaming put midway rejects with the reason and writes nothing', async () => {
    const store = await ctx.store();
    const controller = new AbortController();
    const reason = new Error('user cancelled the upload');
    let sent = 0;
    const slow = new Readable({
      read() {
        sent++;
        if (sent === 2) setImmediate(() => controller.abort(reason));
        if (sent > 1000) this.push(null);
        else setTimeout(() => this.push(Buffer.alloc(1024, sent)), 2);
      },
    });
    expect(await rejection(store.put('streams/aborted', slow, { signal: controller.signal }))).toBe(reason);
    expect(isNotFoundError(await rejection(store.head('streams/aborted')))).toBe(true);
  });
}
