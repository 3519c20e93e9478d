/**
 * A request target split and normalised (`raw`: its path as sent, for the
 * strict-path check), or the reason it was refused.
 */
export type NormalizedTarget = { ok: true; path: string; query: string; raw: string } | { ok: false; reason: string };

const REFUSED = 'encoded slashes, backslashes, NUL and control characters are refused';

/** Whether a path needs the slow path: `%`, `.`, `\`, `;`-free paths without `//` are already normal. */
function needsWork(path: string): boolean {
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    // % . \ ; and anything outside printable ASCII
    if (c === 37 || c === 46 || c === 92 || c === 59 || c < 0x21 || c > 0x7e) return true;
    if (c === 47 && path.charCodeAt(i + 1) === 47) return true; // //
  }
  return false;
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** RFC 3986 §2.3 unreserved: ALPHA / DIGIT / "-" / "." / "_" / "~". */
function isUnreserved(c: number): boolean {
  return (
    (c >= 65 && c <= 90) ||
    (c >= 97 && c <= 122) ||
    (c >= 48 && c <= 57) ||
    c === 45 ||
    c === 46 ||
    c === 95 ||
    c === 126
  );
}

const HEX = '0123456789ABCDEF';

/**
 * Percent-encoding normalisation (RFC 3986 §6.2.2.1–2): `%XX` of an
 * unreserved character is decoded (`%61` → `a`, `%2e` → `.`), other escapes
 * get upper-case hex. Encoded `/` and `\` (which would change the
 * segments an origin sees), NUL, control characters, bytes outside ASCII
 * and malformed escapes are refused (`undefined`).
 */
function normalizeEscapes(path: string): string | undefined {
  let out = '';
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x21 || c > 0x7e || c === 92 /* \ */) return undefined;
    if (c !== 37 /* % */) {
      out += path[i];
      continue;
    }
    const hi = hexValue(path.charCodeAt(i + 1));
    const lo = hexValue(path.charCodeAt(i + 2));
    if (hi < 0 || lo < 0) return undefined;
    const byte = hi * 16 + lo;
    if (byte < 0x21 || byte === 0x7f || byte === 47 /* / */ || byte === 92 /* \ */) return undefined;
    out += isUnreserved(byte) ? String.fromCharCode(byte) : `%${HEX[hi]}${HEX[lo]}`;
    i += 2;
  }
  return out;
}

/**
 * Removes dot segments (RFC 3986 §5.2.4, never above the root) and merges
 * empty segments (`//admin` → `/admin`, as nginx's `merge_slashes`).
 */
export function removeDotSegments(path: string): string {
  const out: string[] = [];
  const segments = path.split('/');
  const last = segments.length - 1;
  for (let i = 1; i <= last; i++) {
    const segment = segments[i] as string;
    if (segment === '.' || segment === '') {
      if (i === last) out.push('');
    } else if (segment === '..') {
      out.pop();
      if (i === last) out.push('');
    } else out.push(segment);
  }
  return `/${out.join('/')}`;
}

/**
 * Normalises an origin-form request target the way RFC 3986 §6.2.2 says two
 * equivalent URIs compare, so that routing sees the path the origin will
 * serve, and the origin is sent that same path: escapes of unreserved
 * characters decoded (`/%61dmin` → `/admin`), the others upper-cased, dot
 * segments removed (`/api/%2e%2e/admin` → `/admin`), empty segments merged
 * (`//admin` → `/admin`). Encoded slashes and backslashes (`%2f`, `%5c`,
 * `\`), NUL, control characters, malformed escapes, absolute-form
 * (`http://…`) and asterisk-form targets are refused: the gateway is not an
 * open proxy. A path without `%`, `.`, `\`, `;` or `//` is already normal
 * and is returned as it is (the common case costs one scan).
 */
export function normalizeTarget(target: string): NormalizedTarget {
  if (target.charCodeAt(0) !== 47 /* / */) {
    return { ok: false, reason: 'only origin-form request targets (/path) are accepted' };
  }
  const queryAt = target.indexOf('?');
  let path = queryAt === -1 ? target : target.slice(0, queryAt);
  const query = queryAt === -1 ? '' : target.slice(queryAt);
  const hash = path.indexOf('#');
  if (hash !== -1) path = path.slice(0, hash);
  if (!needsWork(path)) return { ok: true, path, query, raw: path };
  const escaped = normalizeEscapes(path);
  if (escaped === undefined) return { ok: false, reason: REFUSED };
  return { ok: true, path: removeDotSegments(escaped), query, raw: path };
}
