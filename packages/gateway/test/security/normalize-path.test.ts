import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { normalizeTarget, removeDotSegments } from '../../src/security/normalize-path.js';
import { lenientReading } from '../../src/security/path-policy.js';

const path = (target: string) => {
  const result = normalizeTarget(target);
  return result.ok ? result.path : `refused`;
};

/** Path characters, escapes (some of unreserved characters, some reserved, some refused) and dot segments. */
const pathPart = fc.constantFrom(
  'a',
  'A',
  'admin',
  'api',
  '0',
  '-',
  '_',
  '~',
  '.',
  '..',
  '/',
  '//',
  ';',
  ';x=1',
  '%61',
  '%41',
  '%2e',
  '%2E',
  '%7e',
  '%20',
  '%3b',
  '%3B',
  '%25',
  '%2f',
  '%5c',
  '%00',
  '%zz',
  '%',
  'é',
  '\\',
  ':',
  '@',
  '!',
  '$',
  '*',
  '+',
  ',',
  '=',
);
const target = fc.array(pathPart, { maxLength: 12 }).map((parts) => `/${parts.join('')}`);

const UNRESERVED_ESCAPE = /%(?:[46][1-9A-F]|[57][0-9A]|3[0-9]|2D|2E|5F|7E)/i;

describe('normalizeTarget (RFC 3986 §6.2.2)', () => {
  it('decodes unreserved escapes, upper-cases the others, removes dot segments, merges slashes', () => {
    expect(path('/%61dmin/x')).toBe('/admin/x');
    expect(path('/adm%69n/x')).toBe('/admin/x');
    expect(path('/api/%2e%2e/%61dmin/x')).toBe('/admin/x');
    expect(path('//admin/x')).toBe('/admin/x');
    expect(path('/a//b///c/')).toBe('/a/b/c/');
    expect(path('/a/%3b/%c3%a9')).toBe('/a/%3B/%C3%A9');
    expect(path('/a/./b/../c')).toBe('/a/c');
    expect(path('/../../x')).toBe('/x');
    expect(path('/x/..')).toBe('/');
    expect(path('/plain/path')).toBe('/plain/path');
    expect(normalizeTarget('/a%2e%2e/x?q=%2e%2e')).toEqual({
      ok: true,
      path: '/a../x',
      query: '?q=%2e%2e',
      raw: '/a%2e%2e/x',
    });
  });

  it('refuses encoded slashes and backslashes, NUL, controls, raw non-ASCII, malformed escapes, non-origin forms', () => {
    for (const bad of [
      '/a%2fb',
      '/a%2Fb',
      '/a%5cb',
      '/a\\b',
      '/a%00',
      '/a%0a',
      '/a%7f',
      '/é',
      '/a%zz',
      '/a%4',
      '*',
      'http://x/',
    ]) {
      expect(normalizeTarget(bad).ok, bad).toBe(false);
    }
  });

  it('property: the result is normal — idempotent, no dot or empty segments, no unreserved escapes, lower-case-free hex', () => {
    fc.assert(
      fc.property(target, (raw) => {
        const result = normalizeTarget(raw);
        if (!result.ok) return;
        const out = result.path;
        expect(normalizeTarget(out)).toEqual({ ok: true, path: out, query: '', raw: out });
        expect(out.startsWith('/')).toBe(true);
        expect(out).not.toMatch(/\/\.\.?(?:\/|$)/);
        expect(out).not.toMatch(/\/\/|\\/);
        expect(out).not.toMatch(UNRESERVED_ESCAPE);
        expect(out).not.toMatch(/%[0-9A-F]?[a-f]/);
      }),
      { numRuns: 2000 },
    );
  });

  it('property: equivalent targets (one with unreserved characters escaped) normalise alike', () => {
    const percentEncode = (part: string) =>
      part.includes('%')
        ? part
        : [...part]
            .map((ch) => (/[A-Za-z0-9\-._~]/.test(ch) ? `%${ch.charCodeAt(0).toString(16).padStart(2, '0')}` : ch))
            .join('');
    fc.assert(
      // (a lone '%' would take the next characters as its hex digits: not an equivalent target)
      fc.property(
        fc.array(
          fc.tuple(
            pathPart.filter((p) => p !== '%'),
            fc.boolean(),
          ),
          { maxLength: 12 },
        ),
        (parts) => {
          const plain = normalizeTarget(`/${parts.map(([part]) => part).join('')}`);
          const escaped = normalizeTarget(`/${parts.map(([part, on]) => (on ? percentEncode(part) : part)).join('')}`);
          expect(escaped.ok).toBe(plain.ok);
          if (plain.ok && escaped.ok) expect(escaped.path).toBe(plain.path);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('removeDotSegments never climbs above the root', () => {
    fc.assert(
      fc.property(fc.array(fc.constantFrom('a', '..', '.', ''), { maxLength: 10 }), (segments) => {
        expect(removeDotSegments(`/${segments.join('/')}`).startsWith('/')).toBe(true);
      }),
    );
  });

  it("reads paths as lenient origins do: ';' parameters, case, suffixes", () => {
    expect(lenientReading('/admin;x')).toBe('/admin');
    expect(lenientReading('/ADMIN/x')).toBe('/admin/x');
    expect(lenientReading('/admin.json')).toBe('/admin');
    expect(lenientReading('/public/..;/admin/x')).toBe('/admin/x');
    expect(lenientReading('/a.b/c')).toBe('/a.b/c');
  });
});
