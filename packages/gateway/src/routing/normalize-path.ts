/** A request target split and normalised, or the reason it was refused. */
export type NormalizedTarget = { ok: true; path: string; query: string } | { ok: false; reason: string };

const FORBIDDEN = /%2f|%5c|%00|\\/i;

function hasControl(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}
const ENCODED_DOT = /%2e/gi;

/**
 * Normalises an origin-form request target (`/a/./b/../c?x` → `/a/c`, `?x`)
 * the way the origin would, so that routing sees the path the origin will
 * serve: `%2e` is decoded and dot segments are removed (RFC 3986 §5.2.4,
 * never above the root). Encoded slashes and backslashes (`%2f`, `%5c`, `\`),
 * NUL and control characters are refused, as are absolute-form (`http://…`)
 * and asterisk-form targets: the gateway is not an open proxy.
 */
export function normalizeTarget(target: string): NormalizedTarget {
  if (target.charCodeAt(0) !== 47 /* / */) {
    return { ok: false, reason: 'only origin-form request targets (/path) are accepted' };
  }
  const queryAt = target.indexOf('?');
  let path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  if (path.includes('#')) path = path.slice(0, path.indexOf('#'));
  // Fast path: nothing to normalise.
  if (!path.includes('.') && !path.includes('%') && !path.includes('\\')) return { ok: true, path, query };
  if (FORBIDDEN.test(path) || hasControl(path))
    return { ok: false, reason: 'encoded slashes, backslashes and control characters are refused' };
  path = path.replace(ENCODED_DOT, '.');
  return { ok: true, path: removeDotSegments(path), query };
}

function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  for (let i = 1; i < segments.length; i++) {
    const segment = segments[i] as string;
    if (segment === '.') {
      if (i === segments.length - 1) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (i === segments.length - 1) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}
