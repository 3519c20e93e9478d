import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Platform, startPlatform } from '../src/platform.ts';

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform();
});
afterAll(async () => {
  await platform.close();
});

const play = (body: unknown) =>
  fetch(`${platform.url}/play`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-request-id': 'req-42' },
    body: JSON.stringify(body),
  });

describe('Play flow through the gateway', () => {
  it('answers a play request and emits a play.started event', async () => {
    const response = await play({ profileId: 'p1', titleId: '80100172', device: 'tv' });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      titleId: '80100172',
      name: 'Stranger Things',
      maturity: 'TV-14',
      device: 'tv',
    });
    expect(platform.events.at(-1)).toMatchObject({
      name: 'play.started',
      source: 'play-api',
      traceId: 'req-42',
      payload: { profileId: 'p1', titleId: '80100172', device: 'tv' },
    });
  });

  it('answers 404 for an unknown title, without an event', async () => {
    const before = platform.events.length;
    const response = await play({ profileId: 'p1', titleId: 'nope', device: 'tv' });
    expect(response.status).toBe(404);
    expect(platform.events.length).toBe(before);
  });

  it('answers 400 naming the missing field', async () => {
    const response = await play({ profileId: 'p1', device: 'tv' });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { message: string }).message).toContain('titleId');
  });
});
