import { setTimeout as sleep } from 'node:timers/promises';
import { backoffDelay } from '../producer/backoff.js';
import { RegistryError } from './errors.js';

/** @internal How the client talks to the registry: deadline and retries of every call. */
export interface RegistryHttpOptions {
  readonly baseUrl: string;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly initialDelayMs: number;
  readonly maxDelayMs: number;
  readonly headers: Readonly<Record<string, string>>;
}

/** @internal One registry call: what to ask and what the error should name. */
export interface RegistryCall {
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly body?: unknown;
  readonly subject?: string | undefined;
  readonly schemaId?: number | undefined;
  /** What the call does, for messages ("register a schema"). */
  readonly what: string;
}

/** @internal The answer of a registry call that succeeded (2xx), or a 4xx the caller interprets. */
export interface RegistryAnswer {
  readonly status: number;
  readonly body: unknown;
}

const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

/** Statuses worth another attempt: the registry is overloaded, restarting or failing. */
const retryableStatus = (status: number) => status >= 500 || status === 429 || status === 408;

function parseBody(text: string): unknown {
  if (text.length === 0) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function describe(body: unknown): { message: string; registryCode: number | undefined } {
  if (typeof body === 'object' && body !== null) {
    const { message, error_code: code } = body as { message?: unknown; error_code?: unknown };
    return {
      message: typeof message === 'string' ? message : JSON.stringify(body),
      registryCode: typeof code === 'number' ? code : undefined,
    };
  }
  return { message: typeof body === 'string' ? body.slice(0, 500) : '', registryCode: undefined };
}

/**
 * @internal Makes `call` with a deadline on every attempt (`timeoutMs`, body included) and at most
 * `retries` more attempts, with backoff, when the registry is unreachable, times out or answers
 * 5xx/429/408. Resolves with 2xx and 4xx answers (the caller decides what a 404 means).
 * @throws {RegistryError} `BACKLOT_EVENTS_REGISTRY_UNREACHABLE` once the attempts are spent.
 */
export async function registryRequest(options: RegistryHttpOptions, call: RegistryCall): Promise<RegistryAnswer> {
  const url = `${options.baseUrl}${call.path}`;
  const where = call.subject === undefined ? '' : ` for subject '${call.subject}'`;
  let last: { reason: string; status?: number; registryCode?: number | undefined; cause?: unknown } = {
    reason: 'no attempt made',
  };
  for (let attempt = 0; attempt <= options.retries; attempt++) {
    if (attempt > 0) {
      await sleep(backoffDelay(attempt, { initialDelayMs: options.initialDelayMs, maxDelayMs: options.maxDelayMs }));
    }
    let status: number;
    let body: unknown;
    try {
      const response = await fetch(url, {
        method: call.method,
        headers: {
          accept: `${CONTENT_TYPE}, application/json`,
          ...(call.body === undefined ? {} : { 'content-type': CONTENT_TYPE }),
          ...options.headers,
        },
        ...(call.body === undefined ? {} : { body: JSON.stringify(call.body) }),
        signal: AbortSignal.timeout(options.timeoutMs),
      });
      status = response.status;
      body = parseBody(await response.text());
    } catch (error) {
      const timedOut = error instanceof Error && (error.name === 'TimeoutError' || error.name === 'AbortError');
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : undefined;
      last = {
        reason: timedOut
          ? `no answer within ${options.timeoutMs} ms`
          : `connection failed (${cause ?? (error instanceof Error ? error.message : String(error))})`,
        cause: error,
      };
      continue;
    }
    if (!retryableStatus(status)) return { status, body };
    const { message, registryCode } = describe(body);
    last = { reason: `HTTP ${status}${message ? `: ${message}` : ''}`, status, registryCode };
  }
  throw new RegistryError(
    'BACKLOT_EVENTS_REGISTRY_UNREACHABLE',
    `schema registry at ${options.baseUrl} could not ${call.what}${where}: ${last.reason} ` +
      `(${options.retries + 1} attempt(s)); check that it runs and answers, or raise timeoutMs`,
    { subject: call.subject, schemaId: call.schemaId, status: last.status, registryCode: last.registryCode },
    last.cause === undefined ? undefined : { cause: last.cause },
  );
}

/** @internal The error for a 4xx answer that the caller does not expect. */
export function refused(options: RegistryHttpOptions, call: RegistryCall, answer: RegistryAnswer): RegistryError {
  const { message, registryCode } = describe(answer.body);
  const where = call.subject === undefined ? '' : ` for subject '${call.subject}'`;
  const notFound = answer.status === 404;
  return new RegistryError(
    notFound ? 'BACKLOT_EVENTS_REGISTRY_UNKNOWN_SCHEMA' : 'BACKLOT_EVENTS_REGISTRY_REFUSED',
    `schema registry at ${options.baseUrl} refused to ${call.what}${where}: HTTP ${answer.status}` +
      `${registryCode === undefined ? '' : ` (error_code ${registryCode})`}${message ? `: ${message}` : ''}`,
    { subject: call.subject, schemaId: call.schemaId, status: answer.status, registryCode },
  );
}

/** @internal The error for a 2xx answer that is not what the Confluent API specifies. */
export function badResponse(options: RegistryHttpOptions, call: RegistryCall, answer: RegistryAnswer): RegistryError {
  const where = call.subject === undefined ? '' : ` for subject '${call.subject}'`;
  return new RegistryError(
    'BACKLOT_EVENTS_REGISTRY_BAD_RESPONSE',
    `schema registry at ${options.baseUrl} answered the call to ${call.what}${where} with HTTP ${answer.status} ` +
      `and an unexpected body (${JSON.stringify(answer.body)?.slice(0, 200)}); is the URL its Confluent-compatible API (…/apis/ccompat/v7)?`,
    { subject: call.subject, schemaId: call.schemaId, status: answer.status },
  );
}
