import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runPlatform } from '../src/cli/run-platform.ts';
import { parseStartOptions, type StartOptions } from '../src/cli/start-options.ts';
import { tokenFor } from '../src/edge/demo-users.ts';
import type { WaterfallTrace } from '../src/tracing/trace-buffer.ts';

const GATEWAY = '@backlot/gateway';

describe('npm start: the gateway processes’ spans reach the dashboard’s waterfall', () => {
  let stop: (() => Promise<void>) | undefined;
  let url = '';
  let admin = '';
  const log = console.log;

  beforeAll(async () => {
    // Port 0: free ones, so the run collides with no other checkout's.
    const options = parseStartOptions(
      ['--port', '0', '--admin-port', '0', '--memory', '--gateways', '2', '--canary-percent', '0'],
      {},
    ) as StartOptions;
    console.log = () => {}; // the start banner
    try {
      const running = await runPlatform(options);
      stop = running.stop;
      url = running.url;
      admin = running.adminUrl as string;
    } finally {
      console.log = log;
    }
  });
  afterAll(async () => {
    console.log = () => {};
    try {
      await stop?.();
    } finally {
      console.log = log;
    }
  });

  it('one trace: the gateway’s server span is the root, its origin call the parent of the Play API’s span', async () => {
    const token = await tokenFor('p-ada');
    // A 503 (a command shed on this shared machine) is another trace: try again.
    let status = 0;
    for (let attempt = 1; attempt <= 3 && status !== 200; attempt++) {
      const response = await fetch(`${url}/play`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body: JSON.stringify({ profileId: 'p-ada', titleId: '80100172', device: 'tv' }),
      });
      status = response.status;
      await response.text();
    }
    expect(status).toBe(200);

    // The gateway's spans arrive over IPC in batches: poll the dashboard's API until its trace has them.
    let trace: WaterfallTrace | undefined;
    const deadline = Date.now() + 20_000;
    while (trace === undefined && Date.now() < deadline) {
      const { traces } = (await (await fetch(`${admin}/api/traces`)).json()) as { traces: WaterfallTrace[] };
      trace = traces.find((candidate) => candidate.spans.some((span) => span.scope === GATEWAY));
      if (trace === undefined) await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(trace, 'a trace with the gateway’s spans').toBeDefined();
    const spans = (trace as WaterfallTrace).spans;
    const byId = new Map(spans.map((span) => [span.spanId, span]));
    const [root] = spans;
    expect(root).toMatchObject({ scope: GATEWAY, kind: 'server', depth: 0 });
    expect(root?.parentSpanId).toBeUndefined();

    const playApi = spans.find(
      (span) => span.kind === 'server' && span.scope !== GATEWAY && span.name === 'POST /play',
    );
    expect(playApi, JSON.stringify(spans, null, 1)).toBeDefined();
    const caller = byId.get(playApi?.parentSpanId ?? '');
    expect(caller).toMatchObject({ scope: GATEWAY, kind: 'client' });
    expect(caller?.parentSpanId).toBe(root?.spanId);
    // Everything of the Play API (commands, service calls, the emit) hangs under the gateway's root.
    for (const span of spans.slice(1)) expect(span.depth, span.name).toBeGreaterThan(0);
  });
});
