import { describe, expect, it } from 'vitest';
import { createAdmission, Overloaded } from '../src/play-api/admission.ts';

const gate = () => {
  let open: () => void = () => {};
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
};

describe('admission control in front of the Play API', () => {
  it('runs at most maxConcurrent at once; the next waits its turn; beyond the queue, overloaded at once', async () => {
    const admission = createAdmission({ maxConcurrent: 1, maxQueue: 1, maxWaitMs: 60_000 });
    const signal = new AbortController().signal;
    const first = gate();
    const order: string[] = [];
    const running = admission.run(async () => {
      order.push('first');
      await first.opened;
    }, signal);
    const waiting = admission.run(async () => {
      order.push('second');
    }, signal);
    await expect(admission.run(async () => order.push('third'), signal)).rejects.toBeInstanceOf(Overloaded);
    expect(admission.load).toMatchObject({ active: 1, queued: 1 });
    first.open();
    await Promise.all([running, waiting]);
    expect(order).toEqual(['first', 'second']);
  });

  it('a request that waited past maxWaitMs is turned away as overloaded, never started', async () => {
    const admission = createAdmission({ maxConcurrent: 1, maxQueue: 10, maxWaitMs: 20 });
    const signal = new AbortController().signal;
    const first = gate();
    const running = admission.run(() => first.opened, signal);
    let started = false;
    const error = await admission
      .run(async () => {
        started = true;
      }, signal)
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Overloaded);
    expect((error as Overloaded).code).toBe('overloaded');
    expect(started).toBe(false);
    first.open();
    await running;
  });

  it('a client that leaves while waiting gives up its place', async () => {
    const admission = createAdmission({ maxConcurrent: 1, maxQueue: 10, maxWaitMs: 60_000 });
    const first = gate();
    const running = admission.run(() => first.opened, new AbortController().signal);
    const leaving = new AbortController();
    const waiting = admission.run(async () => 'ran', leaving.signal).catch((e: unknown) => e);
    leaving.abort(new Error('client left'));
    expect(await waiting).toMatchObject({ message: 'client left' });
    expect(admission.load.queued).toBe(0);
    first.open();
    await running;
  });
});
