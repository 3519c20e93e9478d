import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { type Admin, Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  createPipeline,
  DEAD_LETTER_HEADERS,
  defineEventCatalog,
  ENVELOPE_HEADERS,
  frame,
  kafkaTransport,
  type SchemaRegistryClient,
  schemaRegistry,
  unframe,
} from '../src/index.js';
import { fixKafkajsRequestQueue } from '../src/transport/kafka/request-queue-fix.js';
import { collect, connectAdmin, removeTempDirs, tempDir, until } from './helpers.js';
import { registryFailure as failure, startRegistryProxy } from './registry-helpers.js';

// Registry mode against the real services: Apicurio Registry 3 (its Confluent-compatible API,
// started by scripts/services.sh) and the Kafka broker. Records are read back by clients that
// are not ours: kcat for the bytes, curl for the schema behind an id.
const { kafkaBrokers: brokers, registryUrl } = serviceEnv();
const off = process.env.BACKLOT_REGISTRY === 'off';
const run = randomUUID().slice(0, 8);

// Event names are subjects (the `record` strategy): unique per run, so runs never share a subject.
const definitions = {
  [`reg${run}.play.started`]: {
    version: 1,
    payload: z.object({ profileId: z.string().min(1), titleId: z.string(), seq: z.number().int() }),
  },
  [`reg${run}.bookmark.set`]: {
    version: 2,
    payload: z.object({ profileId: z.string().min(1), positionMs: z.number().int().min(0) }),
  },
};
const PLAY = `reg${run}.play.started`;
const BOOKMARK = `reg${run}.bookmark.set`;
const catalog = defineEventCatalog(definitions);

const topics: string[] = [];
let admin: Admin | undefined;

async function newTopic(partitions = 2): Promise<string> {
  const topic = `registry-${randomUUID()}`;
  topics.push(topic, `${topic}.dead-letter`);
  await admin?.createTopics({ topics: [{ topic, numPartitions: partitions }], waitForLeaders: true });
  return topic;
}

beforeAll(async () => {
  if (off) return;
  admin = await connectAdmin(brokers);
});

afterAll(async () => {
  await admin?.deleteTopics({ topics }).catch(() => {});
  await admin?.disconnect();
  removeTempDirs();
});

/** A record as kcat reads it: the raw value bytes and the headers. */
interface RawRecord {
  value: Buffer;
  headers: Record<string, string>;
}

/** Every record of `topic`, read by kcat as raw bytes (value size, headers, value). */
function kcatRaw(topic: string): RawRecord[] {
  const out = execFileSync(
    'kcat',
    ['-C', '-b', brokers[0] as string, '-t', topic, '-o', 'beginning', '-e', '-q', '-f', '%S\t%h\t%s'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  const records: RawRecord[] = [];
  let at = 0;
  while (at < out.length) {
    const tab1 = out.indexOf(9, at);
    const tab2 = out.indexOf(9, tab1 + 1);
    const size = Number(out.subarray(at, tab1).toString());
    const headers: Record<string, string> = {};
    for (const pair of out
      .subarray(tab1 + 1, tab2)
      .toString()
      .split(',')) {
      const eq = pair.indexOf('=');
      if (eq > 0) headers[pair.slice(0, eq)] = pair.slice(eq + 1);
    }
    records.push({ value: out.subarray(tab2 + 1, tab2 + 1 + size), headers });
    at = tab2 + 1 + size;
  }
  return records;
}

/** The schema with `id`, fetched with curl (a client that is not ours). */
function curlSchema(id: number): Record<string, unknown> {
  const body = execFileSync('curl', ['-sf', '--max-time', '10', `${registryUrl}/schemas/ids/${id}`], {
    encoding: 'utf8',
  });
  return JSON.parse((JSON.parse(body) as { schema: string }).schema) as Record<string, unknown>;
}

describe.skipIf(off)('the registry client against Apicurio Registry', () => {
  const json = (schema: object) => ({ schemaType: 'JSON' as const, schema: JSON.stringify(schema) });
  const v1 = json({ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] });

  it('registers, looks up and fetches schemas, each once over HTTP', async () => {
    const subject = `client-${randomUUID()}`;
    const client = schemaRegistry({ url: registryUrl });
    const id = await client.register(subject, v1);
    expect(await client.register(subject, v1)).toBe(id);
    expect(client.requests).toBe(1);
    const fresh = schemaRegistry({ url: registryUrl });
    expect(await fresh.lookup(subject, v1)).toBe(id);
    expect(JSON.parse((await fresh.schemaById(id)).schema)).toEqual(JSON.parse(v1.schema));
    expect((await fresh.schemaById(id)).schemaType).toBe('JSON');
    expect(fresh.requests).toBe(2);
    const unknown = await failure(fresh.lookup(`client-${randomUUID()}`, v1));
    expect(unknown.code).toBe('BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA');
    const noId = await failure(fresh.schemaById(2_000_000_000));
    expect(noId).toMatchObject({
      code: 'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA',
      status: 404,
      schemaId: 2_000_000_000,
    });
  });

  it('sets and reads a compatibility level, which then refuses a breaking change and accepts a safe one', async () => {
    const subject = `compat-${randomUUID()}`;
    const client = schemaRegistry({ url: registryUrl });
    await client.register(subject, v1);
    await client.setCompatibility(subject, 'BACKWARD');
    expect(await client.compatibility(subject)).toBe('BACKWARD');
    // A new required field: v2 readers cannot read v1 data.
    const breaking = json({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'integer' } },
      required: ['a', 'b'],
    });
    const refused = await failure(client.register(subject, breaking));
    expect(refused).toMatchObject({ code: 'BACKLOT_EVENTS_REGISTRY_REFUSED', status: 409, subject, retryable: false });
    expect(refused.message).toMatch(new RegExp(`subject '${subject}'`));
    // Dropping a required constraint is backward compatible (v2 readers accept every v1 record).
    const safe = json({ type: 'object', properties: { a: { type: 'string' } } });
    expect(await client.register(subject, safe)).toBeGreaterThan(0);
  });
});

describe.skipIf(off)('registry mode on Kafka', () => {
  it('produces wire-format records that kcat reads as magic byte + schema id + JSON payload, with the envelope in headers', async () => {
    const topic = await newTopic();
    const client = schemaRegistry({ url: registryUrl });
    const producer = createEventProducer({
      catalog,
      source: 'play-api',
      transport: kafkaTransport({ brokers }),
      topic,
      key: (event) => event.payload.profileId,
      spool: { dir: tempDir() },
      registry: { client },
    });
    const ids = new Set<string>();
    for (let seq = 0; seq < 50; seq++) {
      ids.add(producer.emitEnvelope(PLAY, { profileId: `p${seq % 3}`, titleId: 't1', seq }, { traceId: 'tr-1' }).id);
      ids.add(producer.emitEnvelope(BOOKMARK, { profileId: `p${seq % 3}`, positionMs: seq }).id);
    }
    await producer.close();
    expect(producer.metrics()).toMatchObject({ emitted: 100, sent: 100, deadLettered: 0 });
    // Two schemas, registered once each: the hot path asked the registry nothing more.
    expect(client.requests).toBe(2);

    const records = kcatRaw(topic);
    expect(records).toHaveLength(100);
    const byId = new Map<number, Record<string, unknown>>();
    for (const record of records) {
      expect(record.value[0]).toBe(0);
      const { schemaId, payload } = unframe(record.value);
      if (!byId.has(schemaId)) byId.set(schemaId, curlSchema(schemaId));
      const schema = byId.get(schemaId) as Record<string, unknown>;
      const name = record.headers[ENVELOPE_HEADERS.name];
      expect(schema).toMatchObject({ title: name, 'x-backlot-event': name, type: 'object' });
      expect(record.headers[ENVELOPE_HEADERS.version]).toBe(String(schema['x-backlot-version']));
      expect(record.headers[ENVELOPE_HEADERS.source]).toBe('play-api');
      const body = JSON.parse(payload.toString('utf8'));
      // The value is the payload alone, per its schema's properties.
      expect(Object.keys(body).sort()).toEqual(Object.keys(schema.properties as object).sort());
      ids.delete(record.headers[ENVELOPE_HEADERS.id] as string);
      if (name === PLAY) expect(record.headers[ENVELOPE_HEADERS.traceId]).toBe('tr-1');
    }
    expect(byId.size).toBe(2);
    expect(ids.size).toBe(0);
  });

  it('reads framed and plain records in a pipeline, and dead-letters unknown ids and truncated frames with their code', async () => {
    const topic = await newTopic(1);
    const client = schemaRegistry({ url: registryUrl });
    const send = (registry: boolean, seq: number) => {
      const producer = createEventProducer({
        catalog,
        source: 'play-api',
        transport: kafkaTransport({ brokers }),
        topic,
        spool: false,
        ...(registry ? { registry: { client } } : {}),
      });
      producer.emit(PLAY, { profileId: 'p1', titleId: 't1', seq });
      return producer.close();
    };
    await send(false, 1); // a plain envelope, as before the migration
    await send(true, 2); // framed
    // Poison: a schema id the registry never gave, and a frame cut inside its header.
    fixKafkajsRequestQueue();
    const raw = new Kafka({ clientId: 'registry-test', brokers, logLevel: logLevel.NOTHING }).producer();
    await raw.connect();
    await raw.send({
      topic,
      messages: [
        { value: frame(2_000_000_001, Buffer.from('{"profileId":"p1"}')), headers: { [ENVELOPE_HEADERS.id]: 'x' } },
        { value: Buffer.from([0, 0, 1]) },
      ],
    });
    await raw.disconnect();
    await send(true, 3);

    const seen = collect<{ seq: number }>();
    const pipeline = createPipeline({
      catalog,
      transport: kafkaTransport({ brokers, maxWaitTimeMs: 100 }),
      groupId: `registry-${randomUUID()}`,
      topics: [topic],
      registry: { client: schemaRegistry({ url: registryUrl }) },
      commitIntervalMs: 200,
    });
    pipeline
      .events(PLAY)
      .map((event) => ({ seq: (event.payload as { seq: number }).seq }))
      .to(seen);
    await pipeline.start();
    try {
      await until(
        () => pipeline.metrics().consumed === 5 && seen.flushed.length === 3,
        'the pipeline to read 5 records',
      );
    } finally {
      await pipeline.close();
    }
    expect(seen.flushed.map((e) => e.seq)).toEqual([1, 2, 3]);
    expect(pipeline.metrics()).toMatchObject({ processed: 3, deadLettered: 2 });

    // Keyless dead letters spread over the dead-letter topic's partitions: matched by code, not order.
    const letters = kcatRaw(`${topic}.dead-letter`).map((r) => JSON.parse(r.value.toString('utf8')));
    expect(letters.map((l) => l.code).sort()).toEqual([
      'BACKLOT_EVENTS_REGISTRY_BAD_FRAME',
      'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA',
    ]);
    const unknown = letters.find((l) => l.code === 'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA');
    const truncated = letters.find((l) => l.code === 'BACKLOT_EVENTS_REGISTRY_BAD_FRAME');
    expect(unknown.error).toMatch(/2000000001/);
    expect(Buffer.from(truncated.valueBase64 ?? Buffer.from(truncated.value).toString('base64'), 'base64')).toEqual(
      Buffer.from([0, 0, 1]),
    );
  });

  it('keeps events while the registry is down at emit and delivers each once it is back (counted with kcat)', async () => {
    const topic = await newTopic();
    const proxy = await startRegistryProxy(new URL(registryUrl));
    let client: SchemaRegistryClient | undefined;
    try {
      proxy.mode('reset');
      client = schemaRegistry({
        url: `http://127.0.0.1:${proxy.port}${new URL(registryUrl).pathname}`,
        timeoutMs: 1000,
        retries: 1,
        retryDelayMs: 20,
      });
      const producer = createEventProducer({
        catalog,
        source: 'play-api',
        transport: kafkaTransport({ brokers }),
        topic,
        spool: { dir: tempDir() },
        retry: { initialDelayMs: 50, maxDelayMs: 200 },
        registry: { client },
      });
      const N = 300;
      const ids = new Set<string>();
      for (let seq = 0; seq < N; seq++)
        ids.add(producer.emitEnvelope(PLAY, { profileId: `p${seq % 7}`, titleId: 't', seq }).id);
      // Sends fail while the registry is away: the events wait, none is lost or dead-lettered.
      await until(() => producer.metrics().failedBatches >= 2, 'sends to fail while the registry is down');
      // Crash-safe meanwhile: the unframed envelopes went to the spool, to be framed when sent.
      await until(() => producer.metrics().spoolPending === N, 'the events to be spooled');
      expect(producer.metrics()).toMatchObject({ sent: 0, deadLettered: 0, dropped: 0 });
      expect(kcatRaw(topic)).toHaveLength(0);

      proxy.mode('pass');
      await producer.flush({ timeoutMs: 30_000 });
      // The schema id is known now: later events are framed at emit and need no registry at all.
      proxy.mode('reset');
      for (let seq = N; seq < N + 50; seq++)
        ids.add(producer.emitEnvelope(PLAY, { profileId: 'p', titleId: 't', seq }).id);
      await producer.flush({ timeoutMs: 30_000 });
      await producer.close();
      expect(producer.metrics()).toMatchObject({
        emitted: N + 50,
        sent: N + 50,
        replayed: N,
        deadLettered: 0,
        dropped: 0,
        spoolPending: 0,
      });
      const records = kcatRaw(topic);
      expect(records).toHaveLength(N + 50);
      for (const record of records) {
        expect(record.value[0]).toBe(0);
        ids.delete(record.headers[ENVELOPE_HEADERS.id] as string);
      }
      expect(ids.size).toBe(0);
    } finally {
      await proxy.close();
    }
  });

  it('dead-letters, with the registry code, the events of a schema the registry refuses for good', async () => {
    const topic = await newTopic(1);
    // The subject of a new event name is made BACKWARD and given a v1; the producer then brings a breaking v2.
    const name = `reg${randomUUID().slice(0, 8)}.title.rated`;
    const client = schemaRegistry({ url: registryUrl });
    const v1 = { [name]: { version: 1, payload: z.object({ stars: z.number().int() }) } };
    const v2 = { [name]: { version: 2, payload: z.object({ stars: z.number().int(), by: z.string() }) } };
    const { emittedFromDefinitions, schemaSourceOf } = await import('../src/registry/schema-source.js');
    await client.register(name, { schemaType: 'JSON', schema: schemaSourceOf(emittedFromDefinitions(v1))(name).text });
    await client.setCompatibility(name, 'BACKWARD');
    const producer = createEventProducer({
      catalog: defineEventCatalog(v2),
      source: 'ratings',
      transport: kafkaTransport({ brokers }),
      topic,
      spool: { dir: tempDir() },
      deadLetter: { topic: `${topic}.dead-letter` },
      registry: { client, schemas: v2 },
    });
    producer.emit(name, { stars: 5, by: 'p1' });
    producer.emit(name, { stars: 4, by: 'p2' });
    await producer.flush({ timeoutMs: 20_000 });
    await producer.close();
    expect(producer.metrics()).toMatchObject({ sent: 0, deadLettered: 2, deadLetterPublished: 2 });
    const letters = kcatRaw(`${topic}.dead-letter`);
    expect(letters).toHaveLength(2);
    for (const letter of letters) {
      expect(letter.headers[DEAD_LETTER_HEADERS.code]).toBe('BACKLOT_EVENTS_REGISTRY_REFUSED');
      // Kept unframed: the plain envelope, to fix and send again.
      expect(JSON.parse(letter.value.toString('utf8'))).toMatchObject({ name, version: 2 });
    }
    expect(kcatRaw(topic)).toHaveLength(0);
  });
});
