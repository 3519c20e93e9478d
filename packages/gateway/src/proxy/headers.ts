import type { IncomingHttpHeaders } from 'node:http';

/** Hop-by-hop headers (RFC 9110 §7.6.1) that a proxy must not forward. */
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
]);

type HeaderValue = string | string[] | undefined;

/** Copies `headers` without hop-by-hop ones, nor those named in `Connection`. */
export function withoutHopByHop(headers: Record<string, HeaderValue>): Record<string, string | string[]> {
  const connection = headers.connection;
  const named = new Set(
    (Array.isArray(connection) ? connection.join(',') : (connection ?? ''))
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP_BY_HOP.has(name) || named.has(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Adds the `X-Forwarded-*` headers for a request received from `clientAddress`. */
export function withForwarded(
  headers: Record<string, string | string[]>,
  incoming: IncomingHttpHeaders,
  clientAddress: string | undefined,
  protocol: 'http' | 'https',
): Record<string, string | string[]> {
  const prior = incoming['x-forwarded-for'];
  const chain = [prior, clientAddress].flat().filter(Boolean).join(', ');
  return {
    ...headers,
    ...(chain ? { 'x-forwarded-for': chain } : {}),
    'x-forwarded-proto': incoming['x-forwarded-proto'] ?? protocol,
    ...(incoming.host ? { 'x-forwarded-host': incoming['x-forwarded-host'] ?? incoming.host } : {}),
  };
}
