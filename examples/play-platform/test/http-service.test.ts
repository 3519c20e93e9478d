import { afterEach, describe, expect, it } from 'vitest';
import { createHttpService, type HttpService } from '../src/lib/http-service.ts';

const running: HttpService[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((service) => service.close()));
});

async function start(chaosToken?: string) {
  const service = createHttpService(
    'probe',
    [{ method: 'GET', path: '/ping', handle: () => ({ status: 200, body: 'pong' }) }],
    {
      chaosToken,
    },
  );
  running.push(service);
  return service.listen();
}

const putChaos = (url: string, body: unknown, token?: string) =>
  fetch(`${url}/_chaos`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { 'x-chaos-token': token }) },
    body: JSON.stringify(body),
  });

describe("a service's HTTP chaos endpoint", () => {
  it('does not exist unless the service was given a chaos token', async () => {
    const url = await start();
    expect((await putChaos(url, { down: true }, 'anything')).status).toBe(404);
    expect((await fetch(`${url}/health`)).status).toBe(200);
  });

  it('with a token: refuses callers without it or with another, obeys the right one', async () => {
    const url = await start('s3cret-token');
    expect((await putChaos(url, { down: true })).status).toBe(401);
    expect((await putChaos(url, { down: true }, 's3cret-tokeX')).status).toBe(401);
    expect((await fetch(`${url}/health`)).status).toBe(200);
    const accepted = await putChaos(url, { down: true }, 's3cret-token');
    expect(accepted.status).toBe(200);
    expect(((await accepted.json()) as { chaos: { down: boolean } }).chaos.down).toBe(true);
    expect((await fetch(`${url}/health`)).status).toBe(503);
  });
});
