import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import { isInvalidConfigError } from '../../src/index.js';

/** The config's issues, one string (empty when it is valid). */
function issues(config: unknown): string {
  try {
    parseConfig(config);
    return '';
  } catch (error) {
    expect(isInvalidConfigError(error)).toBe(true);
    return (error as Error).message;
  }
}

const route = (extra: Record<string, unknown>) => ({
  routes: [{ id: 'a', pathPrefix: '/', origin: 'http://127.0.0.1:1', ...extra }],
});
const filter = (f: Record<string, unknown>) => route({ filters: [f] });

describe('config refuses CR/LF and bad header names at load, naming the field', () => {
  const cases: [string, unknown, RegExp][] = [
    [
      'headers filter value',
      filter({ type: 'headers', request: { set: { 'x-a': 'v\r\nx-injected: 1' } } }),
      /routes\[0\]\.filters\[0\]\.request\.set.*CR, LF/s,
    ],
    [
      'headers filter name',
      filter({ type: 'headers', response: { set: { 'x-a\r\nx': 'v' } } }),
      /routes\[0\]\.filters\[0\]\.response\.set\."x-a\\r\\nx": response\.set keys must be header names/,
    ],
    ['headers remove name', filter({ type: 'headers', request: { remove: ['x a'] } }), /request\.remove.*header name/s],
    [
      'static header value',
      filter({ type: 'static', headers: { location: '/x\nset-cookie: a=b' } }),
      /filters\[0\]\.headers.*CR, LF/s,
    ],
    ['requestId header', filter({ type: 'requestId', header: 'x-id\r\n' }), /filters\[0\]\.header.*header name/s],
    [
      'apiKey header',
      filter({ type: 'apiKey', header: 'x key', keys: ['k'.repeat(16)] }),
      /filters\[0\]\.header.*header name/s,
    ],
    [
      'rewrite replacement',
      route({ rewrite: { regex: '^/a', replacement: '/b\r\nGET /admin' } }),
      /routes\[0\]\.rewrite\.replacement.*CR, LF/s,
    ],
    ['rewrite prefix', route({ rewrite: { prefix: '/b\r\n' } }), /routes\[0\]\.rewrite\.prefix.*CR, LF/s],
    [
      'surgical header',
      route({ surgical: [{ header: { name: 'x-beta', value: '1\r\n' }, origin: 'http://127.0.0.1:2' }] }),
      /surgical.*CR, LF/s,
    ],
    ['cors origin', filter({ type: 'cors', origins: ['https://a\r\nx: y'] }), /cors\.origins.*CR, LF/s],
  ];
  for (const [name, config, expected] of cases) {
    it(name, () => {
      expect(issues(config)).toMatch(expected);
    });
  }

  it('still accepts ordinary values', () => {
    expect(
      issues(
        route({
          rewrite: { regex: '^/a', replacement: '/b' },
          filters: [
            { type: 'headers', request: { set: { 'x-a': 'v; w=1' }, remove: ['x-b'] } },
            { type: 'static', headers: { 'content-type': 'text/plain' } },
          ],
        }),
      ),
    ).toBe('');
  });
});
