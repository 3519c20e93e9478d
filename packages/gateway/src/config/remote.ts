import { createHash } from 'node:crypto';
import { request } from 'undici';
import { InvalidConfigError } from '../errors.js';
import type { GatewayConfigInput } from './schema.js';

/** Options of `gateway.watchConfigUrl` and `gateway.watchConfigObject`. */
export interface RemoteConfigOptions {
  /** Time between polls in ms (default 10000). The first poll starts at once. */
  intervalMs?: number | undefined;
  /** Time for one poll (request or store read) in ms (default 5000). */
  timeoutMs?: number | undefined;
  /** Extra request headers for `watchConfigUrl` (e.g. `authorization`). */
  headers?: Record<string, string> | undefined;
  /**
   * The version of the config already in force (its `ETag`, or for
   * `watchConfigObject` the object's etag), when it was read before watching:
   * the first poll then applies nothing unless the config changed since.
   */
  version?: string | undefined;
  /** Called after a new config was validated and swapped in. */
  onReload?: (() => void) | undefined;
  /**
   * Called when a poll fails or a new config is refused (an `InvalidConfigError`
   * naming the fields); the config in force keeps serving. A refused version is
   * reported once, not at every poll.
   */
  onError?: ((error: Error) => void) | undefined;
}

/**
 * Where `gateway.watchConfigObject` reads a JSON config: any store with
 * `head` and `get` returning an `etag`, such as a `@backlot/storage`
 * `ObjectStore` (S3, filesystem or in-memory).
 */
export interface ConfigObjectStore {
  /** Describes the object (only its `etag` is used, to skip unchanged versions). */
  head(key: string): Promise<{ etag: string }>;
  /** Reads the object. */
  get(key: string): Promise<{ etag: string; body: Uint8Array }>;
}

/** One poll: the config text and version when it changed since `known`, `undefined` when not. */
type Fetch = (known: string | undefined) => Promise<{ version: string; text: string } | undefined>;

/**
 * Polls `fetch` every `intervalMs` (never two polls at once), and applies a
 * changed config through `reload`; a refused version is remembered so that it
 * is reported once. Returns a function that stops polling. @internal
 */
export function pollConfig(
  name: string,
  fetch: Fetch,
  reload: (config: GatewayConfigInput) => void,
  options: RemoteConfigOptions,
): () => void {
  const intervalMs = options.intervalMs ?? 10_000;
  let known: string | undefined = options.version;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  const poll = async () => {
    try {
      const next = await fetch(known);
      if (next === undefined || stopped) return;
      known = next.version; // applied or refused: either way, not applied again
      let json: unknown;
      try {
        json = JSON.parse(next.text);
      } catch (error) {
        throw new InvalidConfigError([`${name}: not valid JSON (${(error as Error).message})`]);
      }
      reload(json as GatewayConfigInput);
      options.onReload?.();
    } catch (error) {
      if (!stopped) options.onError?.(error instanceof Error ? error : new Error(String(error)));
    } finally {
      if (!stopped) {
        timer = setTimeout(poll, intervalMs);
        timer.unref();
      }
    }
  };
  void poll();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

/** Prefix of the version of a config served without an `ETag`: a hash of its text. */
const CONTENT_VERSION = 'sha256:';

/**
 * A poll of an HTTP(S) URL with `If-None-Match`: `304 Not Modified` costs no
 * body; without an `ETag` from the server, the version is a hash of the text,
 * so an unchanged body is recognised (also across fetchers). @internal
 */
export function urlFetcher(url: string | URL, options: RemoteConfigOptions): Fetch {
  const timeout = options.timeoutMs ?? 5000;
  return async (known) => {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (known !== undefined && !known.startsWith(CONTENT_VERSION)) headers['if-none-match'] = known;
    const response = await request(url, {
      method: 'GET',
      headers,
      headersTimeout: timeout,
      bodyTimeout: timeout,
      signal: AbortSignal.timeout(timeout),
    });
    if (response.statusCode === 304) {
      await response.body.dump();
      return undefined;
    }
    if (response.statusCode !== 200) {
      await response.body.dump();
      throw new Error(`${String(url)}: HTTP ${response.statusCode} while polling the gateway config`);
    }
    const text = await response.body.text();
    const etag = response.headers.etag;
    const version =
      typeof etag === 'string' && etag !== ''
        ? etag
        : `${CONTENT_VERSION}${createHash('sha256').update(text).digest('base64url')}`;
    if (version === known) return undefined;
    return { version, text };
  };
}

/**
 * Reads a JSON config at an HTTP(S) URL once (for the CLI's first config):
 * its parsed JSON and version, to pass on as `version` when watching it.
 *
 * @throws when the URL does not answer `200` in time, or the body is not JSON.
 * @internal
 */
export async function fetchConfigUrl(
  url: string | URL,
  options: RemoteConfigOptions = {},
): Promise<{ config: unknown; version: string }> {
  const fetched = await urlFetcher(url, options)(undefined);
  if (fetched === undefined) throw new Error(`${String(url)}: no config`);
  try {
    return { config: JSON.parse(fetched.text), version: fetched.version };
  } catch (error) {
    throw new InvalidConfigError([`${String(url)}: not valid JSON (${(error as Error).message})`]);
  }
}

/** A poll of an object in a store: `head` first, the body only when the etag changed. @internal */
export function objectFetcher(store: ConfigObjectStore, key: string, options: RemoteConfigOptions): Fetch {
  const timeout = options.timeoutMs ?? 5000;
  const timed = <T>(promise: Promise<T>): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${key}: no answer from the store in ${timeout} ms`)), timeout);
      promise.then(resolve, reject).finally(() => clearTimeout(timer));
    });
  return async (known) => {
    const { etag } = await timed(store.head(key));
    if (etag === known) return undefined;
    const object = await timed(store.get(key));
    if (object.etag === known) return undefined;
    return { version: object.etag, text: Buffer.from(object.body).toString('utf8') };
  };
}
