import type { IncomingHttpHeaders } from 'node:http';

/**
 * Request headers never sent upstream: hop-by-hop headers (RFC 9110 §7.6.1),
 * plus those undici refuses in a request (`expect`, `keep-alive`, `upgrade`,
 * `transfer-encoding`) and `host`-less HTTP/2 pseudo-headers.
 */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'expect',
  'http2-settings',
]);

type HeaderValue = string | string[] | number | undefined;

function connectionTokens(connection: HeaderValue): Set<string> | undefined {
  if (connection === undefined) return undefined;
  const text = Array.isArray(connection) ? connection.join(',') : String(connection);
  if (text === 'keep-alive' || text === 'close') return undefined; // what nearly every peer sends: nothing to split
  let tokens: Set<string> | undefined;
  for (const token of text.split(',')) {
    const name = token.trim().toLowerCase();
    if (name && name !== 'close' && name !== 'keep-alive') {
      tokens ??= new Set();
      tokens.add(name);
    }
  }
  return tokens;
}

/**
 * Copies `headers` without hop-by-hop ones, those named in `Connection`, and
 * HTTP/2 pseudo-headers (`:path`…). Done before any user filter runs, so a
 * client cannot use `Connection: x-forwarded-for` to strip a header the
 * gateway adds. With `dropUnderscores`, names with `_` are dropped too
 * (nginx's `underscores_in_headers off`): `X_Forwarded_For` is read as
 * `X-Forwarded-For` by some origin frameworks (CGI-style environments).
 */
export function withoutHopByHop(
  headers: Readonly<Record<string, HeaderValue>>,
  dropUnderscores = false,
): Record<string, string | string[]> {
  const named = connectionTokens(headers.connection);
  const out: Record<string, string | string[]> = {};
  for (const name in headers) {
    const value = headers[name];
    if (value === undefined || HOP_BY_HOP.has(name) || name.charCodeAt(0) === 58 /* : */) continue;
    if (dropUnderscores && name.includes('_')) continue;
    if (named?.has(name)) continue;
    out[name] = typeof value === 'number' ? String(value) : value;
  }
  return out;
}

/** Response headers to send to the client: the same cleaning, for what the origin answered. */
export function responseHeaders(headers: IncomingHttpHeaders): Record<string, string | string[]> {
  return withoutHopByHop(headers as Record<string, HeaderValue>);
}

/**
 * Sets `X-Forwarded-For/-Proto/-Host` and `Forwarded` on upstream headers.
 * `chain` is the trusted forwarding chain ending with the address the
 * gateway saw; untrusted client values have already been discarded.
 */
export function setForwarded(
  headers: Record<string, string | string[]>,
  chain: string,
  clientIp: string,
  protocol: 'http' | 'https',
  host: string | undefined,
  trustedProto: string | undefined,
  trustedHost: string | undefined,
): void {
  headers['x-forwarded-for'] = chain;
  const proto = trustedProto ?? protocol;
  headers['x-forwarded-proto'] = proto;
  const fhost = trustedHost ?? host;
  if (fhost !== undefined) headers['x-forwarded-host'] = fhost;
  else delete headers['x-forwarded-host'];
  const forIp = clientIp.includes(':') ? `"[${clientIp}]"` : clientIp;
  headers.forwarded = `for=${forIp};proto=${proto}${fhost === undefined ? '' : `;host="${fhost.replace(/["\\]/g, '')}"`}`;
}
