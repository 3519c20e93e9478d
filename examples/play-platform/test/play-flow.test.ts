import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { tokenFor } from '../src/edge/demo-users.ts';
import { type Platform, startPlatform } from '../src/platform.ts';

let platform: Platform;

beforeAll(async () => {
  platform = await startPlatform({ canaryPercent: 0 });
});
afterAll(async () => {
  await platform.close();
});
afterEach(async () => {
  // Heal every service between tests.
  await Promise.all(
    Object.values(platform.services).map((s) => Object.assign(s.chaos, { down: false, latencyMs: 0, failureRate: 0 })),
  );
});

interface PlayAnswer {
  titleId: string;
  name: string;
  resumePositionMs: number;
  manifest: { profile: string; video: { resolution: string }[] };
  streamUrls: string[];
  license: { sessionId: string; drm: string };
  trace: { service: string; outcome: string; ms: number }[];
  version: string;
  error?: string;
  message?: string;
}

const play = async (body: Record<string, unknown>, headers: Record<string, string> = {}, base = platform.url) => {
  const response = await fetch(`${base}/play`, {
    method: 'POST',
    headers: {
      'content-type': 'application/json',
      authorization: `Bearer ${await tokenFor(String(body.profileId ?? 'p-ada').replace('nobody', 'p-ada'))}`,
      ...headers,
    },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as PlayAnswer, headers: response.headers };
};
const outcome = (answer: PlayAnswer, service: string) => answer.trace.find((s) => s.service === service)?.outcome;

describe('Play flow through the gateway', () => {
  it('runs the three phases and answers a playback context', async () => {
    const { status, body, headers } = await play(
      { profileId: 'p-ada', titleId: '80100172', device: 'tv' },
      { 'x-request-id': 'req-42' },
    );
    expect(status).toBe(200);
    // A client is not a trusted proxy: the gateway replaces the id it chose; the one it
    // assigns is the id the client gets back and the Play API's event carries (below).
    const requestId = headers.get('x-request-id');
    expect(requestId).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    expect(requestId).not.toBe('req-42');
    expect(body).toMatchObject({ titleId: '80100172', name: 'Stranger Things', resumePositionMs: 0, version: 'v1' });
    expect(body.manifest.profile).toBe('tv-2160p'); // premium plan on a TV
    expect(body.streamUrls[0]).toMatch(/^https:\/\/edge-(ams|fra)-1\.cdn\.backlot\.test\/80100172\/tv-2160p\//); // NL → EU caches
    expect(body.license.drm).toBe('widevine');
    expect(body.trace.map((s) => s.service)).toEqual(
      expect.arrayContaining(['subscriber', 'catalog', 'bookmarks', 'playback-decision', 'steering', 'license']),
    );
    expect(body.trace.every((s) => s.outcome === 'ok')).toBe(true);
    expect(platform.events.at(-1)).toMatchObject({
      name: 'playback.started',
      source: 'play-api-v1',
      traceId: requestId,
      payload: {
        profileId: 'p-ada',
        titleId: '80100172',
        device: 'tv',
        country: 'NL',
        sessionId: body.license.sessionId,
      },
    });
  });

  it('caps the manifest by plan and device', async () => {
    const { body } = await play({ profileId: 'p-bo', titleId: '70264888', device: 'mobile' });
    expect(body.manifest.profile).toBe('mobile-720p');
    expect(body.manifest.video.map((v) => v.resolution)).toEqual(['480p', '720p']);
  });

  it('refuses titles outside their rights window (451) and above the profile maturity (403)', async () => {
    const rights = await play({ profileId: 'p-bo', titleId: '70143836', device: 'tv' }); // Breaking Bad, US expired
    expect(rights.status).toBe(451);
    expect(rights.body.error).toBe('not_available');
    const maturity = await play({ profileId: 'p-kim', titleId: '81040344', device: 'tv' });
    expect(maturity.status).toBe(403);
    expect(maturity.body.error).toBe('maturity');
  });

  it('enforces the plan stream limit (409) through the licence service', async () => {
    // Kim's basic plan allows one stream; Our Planet is rated 0+.
    expect((await play({ profileId: 'p-kim', titleId: '70264888', device: 'web' })).status).toBe(200);
    const second = await play({ profileId: 'p-kim', titleId: '70264888', device: 'tv' });
    expect(second.status).toBe(409);
    expect(second.body.error).toBe('license_rejected');
  });

  it('answers 404 for unknown titles and profiles, 400 naming a missing field', async () => {
    expect((await play({ profileId: 'p-ada', titleId: 'nope', device: 'tv' })).status).toBe(404);
    const unknown = await fetch(`${platform.playApiUrls.v1}/play`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ profileId: 'nobody', titleId: '80100172', device: 'tv' }),
    });
    expect(unknown.status).toBe(404);
    const missing = await play({ profileId: 'p-ada', device: 'tv' });
    expect(missing.status).toBe(400);
    expect(missing.body.message).toContain('titleId');
    expect((missing.body as unknown as { issues: unknown[] }).issues).toEqual([
      { field: 'body.titleId', message: 'titleId is required' },
    ]);
  });
});

describe('hostile input through the gateway to the Play API', () => {
  const send = async (body: string, contentType = 'application/json') => {
    const response = await fetch(`${platform.url}/play`, {
      method: 'POST',
      headers: { 'content-type': contentType, authorization: `Bearer ${await tokenFor('p-ada')}` },
      body,
    });
    return { status: response.status, body: (await response.json().catch(() => ({}))) as Record<string, unknown> };
  };

  it('refuses prototype keys, a body that is not JSON, a huge body and a wrong type, naming what is wrong', async () => {
    const poisoned = await send('{"profileId":"p-ada","titleId":"80100172","device":"tv","__proto__":{"admin":true}}');
    expect(poisoned.status).toBe(400);
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
    expect((await send('profileId=p-ada', 'application/x-www-form-urlencoded')).status).toBe(415);
    const huge = await send(JSON.stringify({ profileId: 'p-ada', titleId: 'x'.repeat(2 * 1024 * 1024), device: 'tv' }));
    expect(huge.status).toBe(413);
    const wrongType = await send(JSON.stringify({ profileId: 'p-ada', titleId: 80100172, device: 'tv' }));
    expect(wrongType.status).toBe(400);
    expect(wrongType.body.issues).toEqual([expect.objectContaining({ field: 'body.titleId' })]);
  });
});

describe('the edge: auth, canary, rate limit', () => {
  it('refuses requests without a valid token (401) and tokens for another profile (403)', async () => {
    const none = await fetch(`${platform.url}/play`, {
      method: 'POST',
      body: JSON.stringify({ profileId: 'p-ada', titleId: '80100172', device: 'tv' }),
    });
    expect(none.status).toBe(401);
    const forged = await play(
      { profileId: 'p-ada', titleId: '80100172', device: 'tv' },
      { authorization: 'Bearer not.a.jwt' },
    );
    expect(forged.status).toBe(401);
    const other = await play(
      { profileId: 'p-ada', titleId: '80100172', device: 'tv' },
      { authorization: `Bearer ${await tokenFor('p-bo')}` },
    );
    expect(other.status).toBe(403);
    expect(other.body.error).toBe('wrong_profile');
  });

  it('sends a request pinned with x-canary to the canary Play API', async () => {
    const { status, body } = await play(
      { profileId: 'p-ada', titleId: '80100172', device: 'tv' },
      { 'x-canary': 'on' },
    );
    expect(status).toBe(200);
    expect(body.version).toBe('v2');
  });

  it('splits traffic by weight between the Play API and its canary', async () => {
    const split = await startPlatform({ canaryPercent: 50 });
    try {
      const versions = await Promise.all(
        Array.from(
          { length: 40 },
          async () =>
            (await play({ profileId: 'p-ada', titleId: '80100172', device: 'tv' }, {}, split.url)).body.version,
        ),
      );
      expect(versions).toContain('v1');
      expect(versions).toContain('v2');
    } finally {
      await split.close();
    }
  });

  it('rate-limits per profile with 429', async () => {
    const limited = await startPlatform({ rateLimit: { capacity: 2, refillPerSecond: 0.1 } });
    try {
      const statuses = [];
      for (let i = 0; i < 4; i++)
        statuses.push((await play({ profileId: 'p-ada', titleId: '80100172', device: 'tv' }, {}, limited.url)).status);
      expect(statuses).toEqual([200, 200, 429, 429]);
    } finally {
      await limited.close();
    }
  });
});

describe('fallbacks when a microservice is down (the README table)', () => {
  it('bookmarks down → starts from zero', async () => {
    platform.services.bookmarks.chaos.down = true;
    const { status, body } = await play({ profileId: 'p-ada', titleId: '70264888', device: 'tv' });
    expect(status).toBe(200);
    expect(body.resumePositionMs).toBe(0);
    expect(outcome(body, 'bookmarks')).toBe('fallback:failure');
  });

  it('steering down → the static default CDN list', async () => {
    platform.services.steering.chaos.down = true;
    const { status, body } = await play({ profileId: 'p-ada', titleId: '70264888', device: 'tv' });
    expect(status).toBe(200);
    expect(body.streamUrls[0]).toMatch(/^https:\/\/cdn-default-1\.backlot\.test\//);
    expect(outcome(body, 'steering')).toBe('fallback:failure');
  });

  it('steering slow → times out and falls back', async () => {
    platform.services.steering.chaos.latencyMs = 1000;
    const { body } = await play({ profileId: 'p-ada', titleId: '70264888', device: 'tv' });
    expect(outcome(body, 'steering')).toBe('fallback:timeout');
  });

  it('catalog and subscriber down → a recent cached value', async () => {
    await play({ profileId: 'p-bo', titleId: '80057281', device: 'web' }); // warms the recent values
    platform.services.catalog.chaos.down = true;
    platform.services.subscriber.chaos.down = true;
    const { status, body } = await play({ profileId: 'p-bo', titleId: '80057281', device: 'web' });
    expect(status).toBe(200);
    expect(body.name).toBe('The Crown');
    expect(outcome(body, 'catalog')).toBe('fallback:failure');
    expect(outcome(body, 'subscriber')).toBe('fallback:failure');
  });

  it('catalog down with nothing cached → fails with a clear error', async () => {
    const fresh = await startPlatform();
    try {
      fresh.services.catalog.chaos.down = true;
      const { status, body } = await play({ profileId: 'p-ada', titleId: '81040344', device: 'tv' }, {}, fresh.url);
      expect(status).toBe(503);
      expect(body.message).toMatch(/catalog is failing and no recent value is known/);
    } finally {
      await fresh.close();
    }
  });

  it('playback-decision down → the precomputed default-profile manifest', async () => {
    platform.services.playbackDecision.chaos.down = true;
    const { status, body } = await play({ profileId: 'p-ada', titleId: '80100172', device: 'tv' });
    expect(status).toBe(200);
    expect(body.manifest.profile).toBe('mobile-720p');
    expect(outcome(body, 'playback-decision')).toBe('fallback:failure');
  });

  it('license down → fails with a clear error: no playback without a licence', async () => {
    platform.services.license.chaos.down = true;
    const { status, body } = await play({ profileId: 'p-ada', titleId: '80100172', device: 'tv' });
    expect(status).toBe(503);
    expect(body.error).toBe('license_unavailable');
  });
});

describe('title lookups', () => {
  it('collapses concurrent lookups into batch calls to the catalog', async () => {
    const before =
      platform.registry.commandMetrics().find((m) => m.key === 'catalog.getTitles')?.cumulativeCounts.success ?? 0;
    const answers = await Promise.all(
      Array.from({ length: 20 }, () => play({ profileId: 'p-ada', titleId: '80100172', device: 'tv' })),
    );
    expect(answers.every((a) => a.status === 200)).toBe(true);
    const after =
      platform.registry.commandMetrics().find((m) => m.key === 'catalog.getTitles')?.cumulativeCounts.success ?? 0;
    expect(after - before).toBeLessThan(20);
  });
});
