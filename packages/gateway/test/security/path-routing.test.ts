import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/parse.js';
import type { GatewayConfigInput } from '../../src/index.js';
import { RouteTable } from '../../src/routing/route-table.js';
import { normalizeTarget } from '../../src/security/normalize-path.js';
import { decideRoute, PathPolicy } from '../../src/security/path-policy.js';
import { rawRequest, rawStatus, startGateway, startRecordingOrigins } from '../helpers.js';

const ADMIN_KEY = 'admin-key-0123456789';
const JWT_SECRET = 'a-secret-of-at-least-32-characters-long!';

/** A catch-all public route, an `/api` route, and two protected ones (API key; JWT on a pattern). */
const routes = (admin: string, account: string, pub: string): GatewayConfigInput['routes'] => [
  { id: 'admin', pathPrefix: '/admin', origin: admin, filters: [{ type: 'apiKey', keys: [ADMIN_KEY] }] },
  { id: 'account', path: '/account/:id/settings', origin: account, filters: [{ type: 'jwt', secret: JWT_SECRET }] },
  { id: 'api', pathPrefix: '/api', origin: pub },
  { id: 'public', pathPrefix: '/', origin: pub },
];

// ───────── a reference normaliser: the most lenient reading an origin framework may apply ─────────

/**
 * Written independently of the gateway's code: decode every escape (even
 * `%2f`, `%5c`), backslashes as slashes, `;` parameters dropped per segment,
 * dot segments resolved, empty segments dropped, lower case, a suffix of the
 * last segment dropped.
 */
function referenceReading(target: string): string {
  const raw = target.split('?')[0] as string;
  const decoded = raw.replace(/%([0-9a-fA-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)));
  const stack: string[] = [];
  const segments = decoded.replace(/\\/g, '/').split('/');
  segments.forEach((full, index) => {
    const segment = full.split(';')[0] as string;
    const last = index === segments.length - 1;
    if (segment === '..') stack.pop();
    else if (segment !== '.' && segment !== '') stack.push(segment);
    if (last && (segment === '' || segment === '.' || segment === '..') && stack.length) stack.push('');
  });
  let out = `/${stack.join('/')}`.toLowerCase();
  const dot = out.lastIndexOf('.');
  if (dot > out.lastIndexOf('/') + 1) out = out.slice(0, dot);
  return out;
}

const referenceTable = new RouteTable(
  parseConfig({ routes: routes('http://127.0.0.1:1', 'http://127.0.0.1:1', 'http://127.0.0.1:1') }).routes,
);
/** The protected route the reference reading reaches, if any. */
function referenceProtected(target: string): string | undefined {
  const id = referenceTable.match(referenceReading(target), 'GET', {})?.route.id;
  return id === 'admin' || id === 'account' ? id : undefined;
}

/** Request targets mixing the protected names with every trick: escapes, case, `;`, dots, slashes, suffixes. */
const segment = fc.oneof(
  fc.constantFrom('admin', 'ADMIN', 'Admin', 'account', 'settings', 'api', 'x', '42', 'public'),
  fc.constantFrom('.', '..', '', ';', ';x=1', '.json', '..;', '%2e', '%2E%2e', '%2e%2e;'),
  fc.constantFrom(
    '%61dmin',
    'adm%69n',
    '%41DMIN',
    '%61ccount',
    'settings%2ejson',
    'admin%3bx',
    'admin%2fx',
    'admin%5cx',
  ),
  fc.constantFrom('admin;jsessionid=1', 'admin.', 'admin.json', 'settings;', 'x\\..\\admin', '%2e%2e%2fadmin'),
);
const targetArb = fc
  .tuple(fc.array(segment, { minLength: 1, maxLength: 6 }), fc.constantFrom('', '?a=1', '?x=/admin'))
  .map(([segments, query]) => `/${segments.join('/')}${query}`);

describe('routing cannot be walked around', () => {
  it('property: a target the reference reads as a protected route is refused or routed to that route', () => {
    const config = parseConfig({ routes: routes('http://127.0.0.1:1', 'http://127.0.0.1:1', 'http://127.0.0.1:1') });
    const table = new RouteTable(config.routes);
    const policy = PathPolicy.for(config.server.strictPaths, table);
    let checked = 0;
    fc.assert(
      fc.property(targetArb, (target) => {
        const expected = referenceProtected(target);
        if (expected === undefined) return;
        checked++;
        const normalized = normalizeTarget(target);
        if (!normalized.ok) return; // refused: 400
        const decision = decideRoute(table, policy, normalized, 'GET', {});
        if (decision && 'refused' in decision) return; // refused: 400
        expect(decision?.match.route.id, `${target} → ${normalized.path}`).toBe(expected);
      }),
      { numRuns: 5000 },
    );
    expect(checked).toBeGreaterThan(250); // not vacuous: many targets read as a protected route
  });

  it('over raw sockets: the bypasses found from outside reach no origin without the key', async () => {
    const { hits, urls } = await startRecordingOrigins('admin', 'account', 'public');
    const [, base] = await startGateway({ routes: routes(urls.admin, urls.account, urls.public) });
    const send = (target: string) =>
      rawRequest(base, `GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`).then(rawStatus);
    for (const target of [
      '/%61dmin/x',
      '/adm%69n/x',
      '/api/%2e%2e/%61dmin/x',
      '//admin/x',
      '/admin;x',
      '/admin;x/y',
      '/ADMIN/x',
      '/Admin',
      '/admin.json',
      '/public/..;/admin/x',
      '/admin%3bx',
      '/%41ccount/1/settings',
      '/account/1/SETTINGS',
      '/account/1/settings.json',
    ]) {
      const status = await send(target);
      expect([400, 401], target).toContain(status);
    }
    expect(hits).toEqual([]);
    // what the origin is sent is the normalised path
    expect(await send('/api/%61/./b/../c//d')).toBe(200);
    expect(hits).toEqual(['public /api/a/c/d']);
    // ordinary paths with dots, case and parameters still pass where no protected route is involved
    for (const target of ['/api/Titles/80100172', '/api/file.json', '/api/items;v=1', '/public/Docs/a.b']) {
      expect(await send(target), target).toBe(200);
    }
  });

  it("property over raw sockets: a generated target never reaches an origin past a protected route's filters", async () => {
    const { hits, urls } = await startRecordingOrigins('admin', 'account', 'public');
    const [, base] = await startGateway({ routes: routes(urls.admin, urls.account, urls.public) });
    let checked = 0;
    await fc.assert(
      fc.asyncProperty(targetArb, async (target) => {
        const before = hits.length;
        const text = await rawRequest(base, `GET ${target} HTTP/1.1\r\nHost: gw\r\nConnection: close\r\n\r\n`);
        const status = rawStatus(text);
        const expected = referenceProtected(target);
        if (expected === undefined) return;
        checked++;
        // without credentials: refused (400) or stopped by the protected route's filters (401), and no origin hit
        expect([400, 401], `${target}: ${text.slice(0, 80)}`).toContain(status);
        expect(hits.length, target).toBe(before);
      }),
      { numRuns: 150 },
    );
    expect(checked).toBeGreaterThan(5);
  });
});
