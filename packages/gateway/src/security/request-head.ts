import type { IncomingMessage } from 'node:http';
import { isIPv6 } from 'node:net';

/**
 * `Host` as RFC 3986 §3.2.2 allows it in a request (no userinfo): an IP
 * literal in brackets, or a reg-name / IPv4 address, then an optional port.
 */
const AUTHORITY = /^(?:\[([0-9A-Fa-f:.]+)\]|[A-Za-z0-9\-._~!$&'()*+,;=%]+)(?::(\d{0,5}))?$/;

/**
 * Why a `Host` / `:authority` value cannot be forwarded, or `undefined` when
 * it can. The same shape undici needs to build the upstream request (it
 * derives a TLS name from it), so that the client library never refuses a
 * request inside the origin's command.
 */
export function authorityProblem(host: string): string | undefined {
  const match = AUTHORITY.exec(host);
  if (!match) return 'the Host header is not a valid authority (host[:port])';
  const literal = match[1];
  if (literal !== undefined && !isIPv6(literal)) return 'the Host header has an invalid IPv6 literal';
  const port = match[2];
  if (port !== undefined && port !== '' && Number(port) > 65_535) return 'the Host header has an invalid port';
  return undefined;
}

/** Whether the raw headers carry more than one `Host` (Node keeps only the first). */
function duplicateHost(raw: readonly string[]): boolean {
  let seen = false;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i] as string;
    if (name.length === 4 && name.toLowerCase() === 'host') {
      if (seen) return true;
      seen = true;
    }
  }
  return false;
}

/** The reason given for a refused `TRACE` (answered `405`). */
export const TRACE_REFUSED = 'TRACE is not allowed (server.allowTrace)';

/**
 * Checks what of a request head is forwarded upstream before anything else
 * runs: no `TRACE` unless `server.allowTrace` (it would echo credentials
 * back: `405`), one `Host` (or `:authority`) and a valid one (`400`).
 * Returns why the request is refused, or `undefined`. Header names and
 * values were already checked by Node's parser with the rules undici
 * applies (RFC 9110 tokens; no CR, LF or NUL in values).
 */
export function requestHeadProblem(req: IncomingMessage, server: { allowTrace: boolean }): string | undefined {
  if (req.method === 'TRACE' && !server.allowTrace) return TRACE_REFUSED;
  const headers = req.headers;
  const host = headers.host ?? (headers[':authority' as 'host'] as string | undefined);
  if (host === undefined) return undefined; // HTTP/1.0 without Host: the gateway forwards none
  if (req.httpVersionMajor < 2 && duplicateHost(req.rawHeaders)) return 'more than one Host header';
  return authorityProblem(host);
}
