import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Admin } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { serviceEnv } from '../../../scripts/test-env.js';
import {
  createEventProducer,
  createPipeline,
  ensureTopics,
  kafkaCheckpoints,
  kafkaTransport,
  type WindowResult,
} from '../src/index.js';
import { events } from './fixtures/catalog.js';
import { trendingWindow } from './fixtures/trending.js';
import { collect, connectAdmin, readCommittedValues, removeTempDirs, tempDir, until } from './helpers.js';

// SIGKILL tests of checkpointed window state, on the real broker started by scripts/services.sh:
// the child processes are killed, never the broker.
const { kafkaBrokers } = serviceEnv();
const repo = fileURLToPath(new URL('../../../', import.meta.url));
/** Child processes run the package's sources (no build first): workspace imports map to `src/`. */
const tsHooks = join(repo, 'scripts/ts-hooks.mjs');
const child = fileURLToPath(new URL('./fixtures/state-pipeline.mjs', import.meta.url));
const run = randomUUID().slice(0, 8);
const topics: string[] = [];
const children: ChildProcess[] = [];
let admin: Admin;

beforeAll(async () => {
  admin = await connectAdmin(kafkaBrokers);
}, 180_000);

afterAll(async () => {
  for (const c of children) c.kill('SIGKILL');
  await admin.deleteTopics({ topics }).catch(() => {});
  await admin.disconnect();
  removeTempDirs();
}, 60_000);

const T0 = Date.UTC(2026, 10, 26, 12, 0, 0);
/** Plays over 5 minutes of event time: a 60 s window holds 8,000 of them. */
const N = 40_000;
const PROFILES = 50;
const SPAN_MS = 300_000;

/** N plays, then one play per profile 2 minutes after the last, which closes every window of every partition. */
async function produce(topic: string, partitions: number): Promise<number> {
  await createTopic(topic, partitions);
  await emitRange(topic, 0, N);
  return N + PROFILES;
}

async function createTopic(topic: string, partitions: number): Promise<void> {
  topics.push(topic);
  await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic, partitions, retentionMs: 3_600_000 }] });
}

/** Plays `from`–`to` of N; reaching N adds the closing plays. */
async function emitRange(topic: string, from: number, to: number): Promise<void> {
  const producer = createEventProducer({
    catalog: events,
    source: 'test',
    transport: kafkaTransport({ brokers: kafkaBrokers }),
    topic,
    key: (e) => e.payload.profileId,
    spool: false,
  });
  for (let seq = from; seq < to; seq++) {
    producer.emit(
      'play.started',
      { profileId: `p${seq % PROFILES}`, titleId: `t${seq % 10}`, country: 'FR', seq },
      { time: new Date(T0 + Math.floor((seq * SPAN_MS) / N)) },
    );
  }
  for (let p = 0; p < (to === N ? PROFILES : 0); p++) {
    producer.emit(
      'play.started',
      { profileId: `p${p}`, titleId: 'closing', country: 'FR', seq: N + p },
      { time: new Date(T0 + SPAN_MS + 120_000) },
    );
  }
  await producer.close();
}

/** The window results of one uninterrupted in-process run (its own group). */
async function reference(topic: string, total: number): Promise<string[]> {
  const groupId = `ref-${randomUUID()}`;
  topics.push(`${groupId}-state-changelog`);
  const sink = collect<WindowResult<number>>();
  const pipeline = createPipeline({
    catalog: events,
    transport: kafkaTransport({ brokers: kafkaBrokers, maxWaitTimeMs: 100 }),
    groupId,
    topics: [topic],
    deadLetterTopic: false,
    checkpoints: kafkaCheckpoints({ brokers: kafkaBrokers }),
  });
  pipeline.events('play.started').window(trendingWindow).to(sink);
  await pipeline.start();
  await until(() => pipeline.metrics().processed === total, 'the reference run', 120_000);
  await pipeline.close();
  return sink.flushed.map(canonical).sort();
}

const canonical = (w: WindowResult<number>) => `${w.key}@${w.start}+${w.end}:${w.count}`;

/** A child pipeline; `processed` follows its reports. */
function startChild(args: string[]) {
  const proc = spawn(process.execPath, ['--import', tsHooks, child, kafkaBrokers.join(','), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(proc);
  const state = {
    proc,
    processed: 0,
    partitions: 0,
    exited: false,
    stderr: '',
    /** Its `warn …`/`error …` log lines (fencing, lost partitions). */
    warnings: [] as string[],
    final: undefined as { processed: number } | undefined,
  };
  proc.stdout?.setEncoding('utf8').on('data', (chunk: string) => {
    for (const line of chunk.trim().split('\n')) {
      const match = /^processed (\d+)/.exec(line);
      if (match) state.processed = Number(match[1]);
      const owned = / partitions (\d+)/.exec(line);
      if (owned) state.partitions = Number(owned[1]);
      if (line.startsWith('warn ') || line.startsWith('error ')) state.warnings.push(line);
      if (line.startsWith('closed ')) state.final = JSON.parse(line.slice('closed '.length)) as { processed: number };
    }
  });
  proc.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    state.stderr += chunk;
  });
  proc.on('exit', () => {
    state.exited = true;
  });
  return state;
}

async function kill(state: ReturnType<typeof startChild>, signal: NodeJS.Signals): Promise<void> {
  state.proc.kill(signal);
  await until(() => state.exited, `child ${signal}`, 30_000);
}

const lines = (file: string): string[] =>
  existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];

/** Counts each distinct line; returns the duplicates (lines seen more than once, once per extra copy). */
function extra(all: string[]): { unique: Set<string>; duplicates: string[] } {
  const unique = new Set<string>();
  const duplicates: string[] = [];
  for (const line of all) {
    if (unique.has(line)) duplicates.push(line);
    else unique.add(line);
  }
  return { unique, duplicates };
}

/**
 * Multiset difference: what `actual` has beyond `expected` (repeats) and what it lacks (losses). The same title
 * can close the same window with the same count in two partitions, so results are compared as multisets.
 */
function compare(actual: string[], expected: string[]): { repeated: string[]; missing: string[] } {
  const left = new Map<string, number>();
  for (const r of expected) left.set(r, (left.get(r) ?? 0) + 1);
  const repeated: string[] = [];
  for (const r of actual) {
    const n = left.get(r) ?? 0;
    if (n > 0) left.set(r, n - 1);
    else repeated.push(r);
  }
  const missing = [...left].flatMap(([r, n]) => Array.from({ length: n }, () => r));
  return { repeated, missing };
}

/** Window results as the append-only file holds them, canonical. */
const windowLines = (files: string[]) =>
  files.flatMap(lines).map((line) => canonical(JSON.parse(line) as WindowResult<number>));

/** Results emitted from one partition in one advance (10 titles): a bound on what one checkpoint interval can repeat. */
const PER_ADVANCE = 10;

/**
 * An exactly-once run's setup: a source topic of `partitions` holding the plays, its output topic
 * (as many partitions), the results of one uninterrupted run, an output folder and a group.
 */
async function exactlyOnceRun(name: string, partitions: number) {
  const topic = `${name}-${run}`;
  const output = `${topic}-trending`;
  const total = await produce(topic, partitions);
  await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: output, partitions }] });
  topics.push(output);
  const expected = await reference(topic, total);
  const groupId = `${name}-group-${run}`;
  topics.push(`${groupId}-state-changelog`);
  return { topic, output, total, expected, out: tempDir(), groupId };
}

/**
 * Waits until members `a` and `b` processed every event (their raw files) and `output` holds every
 * expected result, stops them (SIGTERM), and returns the output as read_committed (kcat) reads it.
 */
async function finishedOutput(
  out: string,
  output: string,
  total: number,
  expected: string[],
  members: ReturnType<typeof startChild>[],
): Promise<string[]> {
  const raw = [join(out, 'raw-a.log'), join(out, 'raw-b.log')];
  await until(() => extra(raw.flatMap(lines)).unique.size === total, 'every event processed', 180_000);
  await until(() => compare(readCommitted(output), expected).missing.length === 0, 'every window result', 60_000);
  for (const member of members) await kill(member, 'SIGTERM');
  return readCommitted(output);
}

/** The window results of `topic` as a read_committed client that is not ours (kcat) reads them. */
const readCommitted = (topic: string): string[] =>
  readCommittedValues(kafkaBrokers, topic).map((line) => canonical(JSON.parse(line) as WindowResult<number>));

describe('checkpointed windows survive SIGKILL (real broker, child processes)', () => {
  it('one member killed mid-way and restarted: each window result once, the replay bounded by one commit interval', async () => {
    const topic = `kill-state-${run}`;
    const total = await produce(topic, 3);
    const expected = await reference(topic, total);
    const out = tempDir();
    const groupId = `kill-${run}`;
    topics.push(`${groupId}-state-changelog`);

    const first = startChild([topic, groupId, out, 'a', 'append']);
    await until(() => first.processed >= N / 3 || first.exited, 'a third of the events processed', 120_000);
    expect(first.exited, first.stderr).toBe(false);
    await kill(first, 'SIGKILL');
    const processedBeforeKill = first.processed;

    const second = startChild([topic, groupId, out, 'a', 'append']);
    const raw = join(out, 'raw-a.log');
    await until(() => extra(lines(raw)).unique.size === total, 'every event in the raw sink', 120_000);
    await until(
      () => compare(windowLines([join(out, 'windows-a.log')]), expected).missing.length === 0,
      'every window result',
      60_000,
    );
    await kill(second, 'SIGTERM');

    const { duplicates: redelivered } = extra(lines(raw));
    const results = windowLines([join(out, 'windows-a.log')]);
    const { repeated: duplicates, missing } = compare(results, expected);
    // Events processed by both runs: at least the first run's last report plus the second's count, less the total.
    const replayed = processedBeforeKill + (second.final?.processed ?? 0) - total;
    console.info(
      `SIGKILL after ${processedBeforeKill} of ${total} events: ${replayed}+ events consumed again, ${redelivered.length} re-delivered to the append-only sink ` +
        `(a 60 s window holds ${(N * 60_000) / SPAN_MS}); window results: ${results.length} delivered, ${expected.length} expected, ${duplicates.length} repeated`,
    );
    expect(missing).toEqual([]);
    // Re-delivery is bounded by one commit interval (100 ms here), far below a window's events.
    expect(redelivered.length).toBeLessThan((N * 60_000) / SPAN_MS / 4);
    expect(replayed).toBeLessThan((N * 60_000) / SPAN_MS / 4);
    // A result repeats only if the kill fell between the sink's fsync and the checkpoint transaction.
    expect(duplicates.length).toBeLessThanOrEqual(3 * PER_ADVANCE);
  }, 300_000);

  it('three members, one killed mid-stream: the results are those of one process', async () => {
    const topic = `kill-group-${run}`;
    await createTopic(topic, 6);
    const out = tempDir();
    const groupId = `group-${run}`;
    topics.push(`${groupId}-state-changelog`);

    // The members share the partitions first; then the stream flows, and one of them is killed mid-way.
    const members = ['a', 'b', 'c'].map((member) => startChild([topic, groupId, out, member, 'append', '', '5']));
    const victim = members[2] as ReturnType<typeof startChild>;
    await until(() => members.every((m) => m.partitions === 2), 'two partitions for each member', 60_000);
    const chunk = 2000;
    for (let from = 0; from < N; from += chunk) {
      await emitRange(topic, from, from + chunk);
      if (from === N / 2) {
        await until(() => victim.processed > 0 || victim.exited, 'the third member processing', 60_000);
        expect(victim.exited, victim.stderr).toBe(false);
        await kill(victim, 'SIGKILL');
      }
    }
    const total = N + PROFILES;
    const expected = await reference(topic, total);

    const rawFiles = ['a', 'b', 'c'].map((m) => join(out, `raw-${m}.log`));
    const windowFiles = ['a', 'b', 'c'].map((m) => join(out, `windows-${m}.log`));
    await until(() => extra(rawFiles.flatMap(lines)).unique.size === total, 'every event in the raw sinks', 180_000);
    await until(() => compare(windowLines(windowFiles), expected).missing.length === 0, 'every window result', 60_000);
    for (const member of members.slice(0, 2)) await kill(member, 'SIGTERM');

    const results = windowLines(windowFiles);
    const { repeated: duplicates, missing } = compare(results, expected);
    const { duplicates: redelivered } = extra(rawFiles.flatMap(lines));
    const replayed = members.reduce((sum, m) => sum + (m.final?.processed ?? m.processed), 0) - total;
    console.info(
      `3 members, one SIGKILLed after ${victim.processed} events: ${replayed}+ events consumed again, ${redelivered.length} re-delivered to the append-only sinks; ` +
        `window results: ${results.length} delivered, ${expected.length} expected, ${duplicates.length} repeated`,
    );
    expect(missing).toEqual([]);
    expect(duplicates.length).toBeLessThanOrEqual(6 * PER_ADVANCE);
  }, 300_000);

  it('a zombie member (SIGSTOP past its session, its partitions taken over, then SIGCONT) is fenced: read_committed holds each result once', async () => {
    const { topic, output, total, expected, out, groupId } = await exactlyOnceRun('zombie', 2);

    const zombie = startChild([topic, groupId, out, 'a', 'exactly-once', output]);
    await until(() => zombie.processed >= N / 4 || zombie.exited, 'a quarter of the events processed', 120_000);
    expect(zombie.exited, zombie.stderr).toBe(false);
    // Frozen (a long GC pause, a VM migration): no heartbeat, so after its 6 s session the group
    // gives both partitions to the other member, whose take-over fences the frozen one's producers.
    zombie.proc.kill('SIGSTOP');
    const atStop = zombie.processed;
    const successor = startChild([topic, groupId, out, 'b', 'exactly-once', output]);
    await until(() => successor.partitions === 2 && successor.processed > 0, 'the successor owns both', 90_000);
    // Resumed: it still holds a batch and state it believes are its own, and tries to checkpoint them.
    zombie.proc.kill('SIGCONT');
    await until(
      () => zombie.warnings.some((line) => line.includes('another member took this partition over')),
      'the zombie told it was fenced',
      60_000,
    );
    const results = await finishedOutput(out, output, total, expected, [zombie, successor]);
    const { repeated } = compare(results, expected);
    console.info(
      `zombie: SIGSTOP after ${atStop} of ${total} events; fenced: ${zombie.warnings.length} warning(s); read_committed output holds ${results.length} results (${expected.length} expected, ${repeated.length} repeated)`,
    );
    // Nothing the zombie produced after it was fenced is visible: each result exactly once.
    expect(results.sort()).toEqual(expected);
  }, 400_000);

  it('a zombie resumed while idle and given one of its partitions back takes it over again (changelog), never stalls or repeats', async () => {
    const topic = `zombie-idle-${run}`;
    const output = `${topic}-trending`;
    await createTopic(topic, 2);
    await ensureTopics({ brokers: kafkaBrokers, topics: [{ topic: output, partitions: 2 }] });
    topics.push(output);
    const out = tempDir();
    const groupId = `zombie-idle-${run}`;
    topics.push(`${groupId}-state-changelog`);

    const zombie = startChild([topic, groupId, out, 'a', 'exactly-once', output, '5']);
    await until(() => zombie.partitions === 2, 'the first member owns both partitions', 60_000);
    await emitRange(topic, 0, N / 4);
    await until(() => zombie.processed >= N / 4, 'the first quarter processed', 120_000);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // its last checkpoint committed: idle
    // Frozen while idle: the other member takes both partitions over and goes on with new events.
    zombie.proc.kill('SIGSTOP');
    const successor = startChild([topic, groupId, out, 'b', 'exactly-once', output, '5']);
    await until(() => successor.partitions === 2, 'the successor owns both', 90_000);
    await emitRange(topic, N / 4, N / 2);
    await until(() => successor.processed >= N / 4, 'the second quarter processed by the successor', 120_000);
    // Resumed: it rejoins, and the group gives it one of the partitions it believes it still has.
    zombie.proc.kill('SIGCONT');
    await until(() => successor.partitions === 1, 'the partitions shared again', 90_000);
    await emitRange(topic, N / 2, N);
    const total = N + PROFILES;
    const expected = await reference(topic, total);
    const results = await finishedOutput(out, output, total, expected, [zombie, successor]);
    console.info(
      `idle zombie: fenced: ${zombie.warnings.length} warning(s); read_committed output holds ${results.length} results (${expected.length} expected)`,
    );
    expect(results.sort()).toEqual(expected);
  }, 500_000);

  it('exactly-once to a topic: SIGKILL mid-way, read_committed (kcat) holds each result exactly once', async () => {
    const { topic, output, total, expected, out, groupId } = await exactlyOnceRun('kill-eos', 3);

    const first = startChild([topic, groupId, out, 'a', 'exactly-once', output]);
    await until(() => first.processed >= N / 3 || first.exited, 'a third of the events processed', 120_000);
    expect(first.exited, first.stderr).toBe(false);
    await kill(first, 'SIGKILL');
    const atKill = first.processed;

    const second = startChild([topic, groupId, out, 'a', 'exactly-once', output]);
    await until(() => extra(lines(join(out, 'raw-a.log'))).unique.size === total, 'every event processed', 120_000);
    await kill(second, 'SIGTERM');

    const results = readCommitted(output);
    const { repeated: duplicates } = compare(results, expected);
    console.info(
      `exactly-once: SIGKILL after ${atKill} of ${total} events; read_committed output holds ${results.length} results (${expected.length} expected, ${duplicates.length} repeated)`,
    );
    expect(results.sort()).toEqual(expected);
  }, 300_000);
});
