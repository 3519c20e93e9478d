import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

/** The upgrade token tunnelled by default. */
export const WEBSOCKET = 'websocket';

/**
 * Upgrade tokens never tunnelled, whatever the config: `h2c` turns the
 * connection into HTTP/2 spoken directly to the origin, past the gateway's
 * routing and filters (every request after the `101` would skip them).
 */
export const NEVER_TUNNELLED: ReadonlySet<string> = new Set(['h2c', 'h2']);

const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A base64 nonce of 16 bytes (RFC 6455 §4.1). */
const WEBSOCKET_KEY = /^[A-Za-z0-9+/]{21}[AQgw]==$/;
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** The verdict on an `Upgrade:` request: the token to ask the origin for, or why it is refused. */
export type UpgradeVerdict = { ok: true; token: string } | { ok: false; reason: string };

/**
 * Checks an HTTP/1.1 upgrade request before routing: one token, never a
 * {@link NEVER_TUNNELLED} one; a WebSocket upgrade is a `GET` with
 * `Sec-WebSocket-Version: 13` and a 16-byte base64 `Sec-WebSocket-Key`
 * (RFC 6455 §4.2.1). Whether the route allows the token is checked after
 * routing ({@link upgradeAllowed}).
 */
export function checkUpgradeRequest(method: string, headers: IncomingHttpHeaders): UpgradeVerdict {
  const upgrade = headers.upgrade;
  if (typeof upgrade !== 'string') return { ok: false, reason: 'the Upgrade header is missing' };
  const token = upgrade.trim().toLowerCase();
  if (!TOKEN.test(token)) return { ok: false, reason: 'the Upgrade header must name exactly one protocol' };
  if (NEVER_TUNNELLED.has(token)) return { ok: false, reason: `upgrades to '${token}' are never tunnelled` };
  if (token === WEBSOCKET) {
    if (method !== 'GET') return { ok: false, reason: 'a WebSocket upgrade must be a GET' };
    if (headers['sec-websocket-version'] !== '13') {
      return { ok: false, reason: 'a WebSocket upgrade needs Sec-WebSocket-Version: 13' };
    }
    const key = headers['sec-websocket-key'];
    if (typeof key !== 'string' || !WEBSOCKET_KEY.test(key)) {
      return { ok: false, reason: 'a WebSocket upgrade needs a Sec-WebSocket-Key of 16 bytes in base64' };
    }
  }
  return { ok: true, token };
}

/** Whether a route's allow-list (`routes[].upgrades`, default `['websocket']`) admits `token`. */
export function upgradeAllowed(allowed: readonly string[], token: string): boolean {
  return !NEVER_TUNNELLED.has(token) && allowed.includes(token);
}

/** The `Sec-WebSocket-Accept` an origin must answer to `key` (RFC 6455 §4.2.2). */
export function websocketAccept(key: string): string {
  return createHash('sha1')
    .update(key + WEBSOCKET_GUID)
    .digest('base64');
}

/**
 * Checks the origin's `101 Switching Protocols` before the sockets are
 * spliced: it switches to the token asked for and, for a WebSocket, carries
 * the `Sec-WebSocket-Accept` of the key sent. Returns why it is not
 * acceptable, or `undefined`.
 */
export function checkSwitchingResponse(
  token: string,
  key: string | undefined,
  headers: IncomingHttpHeaders,
): string | undefined {
  const upgrade = headers.upgrade;
  if (typeof upgrade !== 'string' || upgrade.trim().toLowerCase() !== token) {
    return `its 101 does not switch to '${token}'`;
  }
  if (token === WEBSOCKET && (key === undefined || headers['sec-websocket-accept'] !== websocketAccept(key))) {
    return 'its 101 has no matching Sec-WebSocket-Accept';
  }
  return undefined;
}
