import { AsyncLocalStorage } from 'node:async_hooks';
import { BadRequestError, markRetryable } from '@backlot/resilience';
import { request } from 'undici';
import type { z } from 'zod';
import { startOutgoingCall } from '../http/tracing.ts';

/** A 4xx answer from a microservice: the caller's fault, passed through with its status. */
export class ServiceRejection extends BadRequestError {
  readonly status: number;
  readonly service: string;
  readonly body: unknown;
  constructor(service: string, status: number, body: unknown) {
    const detail = (body as { message?: string; error?: string } | undefined) ?? {};
    super(`${service} answered ${status}: ${detail.message ?? detail.error ?? 'rejected'}`);
    this.status = status;
    this.service = service;
    this.body = body;
  }
}

/** The id of the request being served: calls made under `requestIds.run(id, …)` send it as `x-request-id`. */
export const requestIds = new AsyncLocalStorage<string>();

/**
 * Calls a microservice and validates its JSON answer. 4xx → `ServiceRejection`
 * (no fallback, never trips a circuit); 503 → a retryable failure; other 5xx
 * and connection errors → failures the command handles.
 */
export async function callService<T>(
  service: string,
  url: string,
  schema: z.ZodType<T>,
  options: { method?: 'GET' | 'POST' | 'PUT' | 'DELETE'; body?: unknown; signal: AbortSignal },
): Promise<T> {
  const requestId = requestIds.getStore();
  const method = options.method ?? 'GET';
  // With an OpenTelemetry SDK: a client span, and its `traceparent` for the service's own span.
  const traced = startOutgoingCall(service, method, url);
  let answer: Awaited<ReturnType<typeof request>>;
  let text: string;
  try {
    answer = await request(url, {
      method,
      signal: options.signal,
      headers: {
        ...traced?.headers,
        ...(requestId === undefined ? {} : { 'x-request-id': requestId }),
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(options.body === undefined ? {} : { body: JSON.stringify(options.body) }),
    });
    text = await answer.body.text();
  } catch (error) {
    traced?.end(undefined, error);
    throw error;
  }
  traced?.end(answer.statusCode);
  const { statusCode } = answer;
  const json: unknown = text ? JSON.parse(text) : undefined;
  if (statusCode >= 400 && statusCode < 500) throw new ServiceRejection(service, statusCode, json);
  if (statusCode === 503) throw markRetryable(new Error(`${service} is unavailable (503)`));
  if (statusCode >= 500) throw new Error(`${service} failed with ${statusCode}`);
  const parsed = schema.safeParse(json);
  if (!parsed.success) throw new Error(`${service} answered a malformed body: ${parsed.error.message}`);
  return parsed.data;
}
