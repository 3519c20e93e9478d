import type { IncomingHttpHeaders } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Dispatcher } from 'undici';
import { ERROR_STATUS, GatewayError, isGatewayError, publicMessage } from '../errors.js';
import type { Filter } from '../filters/filter.js';
import type { RequestContext } from '../filters/request-context.js';
import { runPhase } from '../filters/run-phase.js';
import { responseHeaders } from '../proxy/headers.js';
import { hasRequestBody } from '../proxy/request-body.js';
import { errorBody, originFailure } from '../proxy/respond.js';
import { checkSwitchingResponse } from '../security/upgrade-policy.js';
import type { ClientSide, ResponseSide } from './client-side.js';
import type { GatewayState } from './gateway-state.js';

/** A refused upgrade's answer from the origin is relayed up to this size (it is an error page, not a stream). */
const MAX_REFUSAL_BYTES = 64 * 1024;

const ERROR_NAME: Record<string, string> = Object.fromEntries(
  Object.entries(ERROR_STATUS).map(([code, [, name]]) => [code, name]),
);

/** The JSON body of a gateway error, as every entrance answers it. @internal */
export function errorJson(error: GatewayError, requestId: string): string {
  return errorBody(ERROR_NAME[error.code] ?? 'error', publicMessage(error), requestId);
}

/** What a {@link ResponseWriter} writes for. @internal */
export interface ResponseWriterOptions {
  readonly gateway: GatewayState;
  readonly client: ClientSide;
  readonly ctx: RequestContext;
  /** The outbound filters every answer passes through. */
  readonly outbound: readonly Filter[];
  /** For an upgrade: its token (`websocket`…), the route's idle timeout, and what to do once the tunnel is open. */
  readonly upgrade?: { readonly token: string; readonly idleMs: number | undefined; opened(): void } | undefined;
}

/**
 * The one writer of an exchange's answer, whatever it is: a local or error
 * answer, an origin's response (streamed with backpressure, or buffered),
 * or a tunnel. Every answer passes through the outbound filters first. @internal
 */
export class ResponseWriter {
  readonly #gateway: GatewayState;
  readonly #client: ClientSide;
  readonly #ctx: RequestContext;
  readonly #outbound: readonly Filter[];
  readonly #upgrade: ResponseWriterOptions['upgrade'];
  #clientGone = false;
  #headWritten = false;
  #origin = '';
  #bufferMax: number | undefined;
  #buffer: Buffer[] | undefined;
  #bufferBytes = 0;
  #pending: Buffer[] | undefined;
  #ended = false;
  #failed = false;

  constructor(options: ResponseWriterOptions) {
    this.#gateway = options.gateway;
    this.#client = options.client;
    this.#ctx = options.ctx;
    this.#outbound = options.outbound;
    this.#upgrade = options.upgrade;
  }

  /** Whether the client went away. */
  get clientGone(): boolean {
    return this.#clientGone;
  }

  /** Notes that the client went away: origin bytes are dropped from now on. */
  clientClosed(): void {
    this.#clientGone = true;
  }

  // ───────── local and error answers ─────────

  /**
   * Answers an error (before any byte of a response went out; after, the
   * client's connection is cut): its status, JSON body and headers, through
   * the outbound filters.
   */
  fail(error: unknown): void {
    const gatewayError = isGatewayError(error)
      ? error
      : new GatewayError('BACKLOT_GATEWAY_FILTER_FAILED', `filter failed: ${(error as Error)?.message}`, {
          cause: error,
        });
    const client = this.#client;
    if (client.headersSent || client.destroyed) {
      client.destroy();
      return;
    }
    const ctx = this.#ctx;
    ctx.failure = gatewayError;
    if (client.kind === 'response' && hasRequestBody(ctx.req) && !ctx.req.readableEnded) client.closeAfter();
    ctx.respond(gatewayError.status, errorJson(gatewayError, ctx.requestId), {
      ...gatewayError.headers,
      'content-type': 'application/json',
    });
    this.local(true);
  }

  /** Writes the answer a filter (or {@link fail}) set on the context, through the outbound filters. */
  local(isError = false): void {
    const outbound = this.#outbound;
    if (outbound.length === 0) {
      this.#writeLocal();
      return;
    }
    try {
      const result = runPhase('outbound', outbound, this.#ctx, false);
      if (result)
        result.then(
          () => this.#writeLocal(),
          (error: unknown) => (isError ? this.#writeLocal() : this.fail(error)),
        );
      else this.#writeLocal();
    } catch (error) {
      if (isError) this.#writeLocal();
      else this.fail(error);
    }
  }

  #writeLocal(): void {
    const client = this.#client;
    if (client.headersSent || client.destroyed) return;
    const ctx = this.#ctx;
    const head = ctx.response ?? { status: 200, headers: {} };
    if (head.headers['x-request-id'] === undefined) head.headers['x-request-id'] = ctx.requestId;
    this.#headWritten = true;
    client.answer(head.status, head.headers, ctx.responseBody ?? ctx.localBody);
  }

  // ───────── an origin's answer ─────────

  /** Sets the origin whose response comes next, and the most of it to buffer (`undefined`: streamed). */
  expect(origin: string, bufferMax: number | undefined): void {
    this.#origin = origin;
    // An origin refusing an upgrade answers an error page: always buffered, never a stream.
    this.#bufferMax =
      this.#client.kind === 'upgrade' ? Math.min(bufferMax ?? MAX_REFUSAL_BYTES, MAX_REFUSAL_BYTES) : bufferMax;
  }

  /** The origin's response head. */
  onHead(controller: Dispatcher.DispatchController, status: number, headers: IncomingHttpHeaders): void {
    const ctx = this.#ctx;
    const clean = responseHeaders(headers);
    if (status === 204) delete clean['content-length']; // RFC 9110 §8.6: never on a 204
    ctx.response = { status, headers: clean };
    if (this.#bufferMax !== undefined) {
      this.#buffer = [];
      return;
    }
    const result = this.#outbound.length ? runPhase('outbound', this.#outbound, ctx, false) : undefined;
    if (result) {
      this.#pending = [];
      controller.pause();
      result.then(
        () => {
          this.#writeHead();
          const pending = this.#pending ?? [];
          this.#pending = undefined;
          const stream = this.#client as ResponseSide;
          for (const chunk of pending) stream.write(chunk, NOOP);
          if (this.#ended) stream.end();
          else controller.resume();
        },
        (error: unknown) => {
          controller.abort(error as Error);
          this.#failAfterHead(error);
        },
      );
      return;
    }
    this.#writeHead();
  }

  #writeHead(): void {
    const client = this.#client as ResponseSide;
    if (client.destroyed) return;
    const head = this.#ctx.response;
    if (!head) return;
    this.#headWritten = true;
    if (this.#gateway.draining) client.closeAfter();
    client.writeHead(head.status, head.headers);
  }

  /** A chunk of the origin's body. */
  onData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    const client = this.#client;
    if (this.#clientGone || client.destroyed) {
      controller.abort(new Error('client went away'));
      return;
    }
    if (this.#buffer) {
      this.#bufferBytes += chunk.length;
      if (this.#bufferBytes > (this.#bufferMax as number)) {
        this.#buffer = undefined;
        this.#failed = true;
        controller.abort(new Error('response over its buffer limit'));
        this.fail(
          new GatewayError(
            'BACKLOT_GATEWAY_RESPONSE_TOO_LARGE',
            this.#upgrade
              ? `origin '${this.#origin}' refused the upgrade with an answer over ${this.#bufferMax} bytes`
              : `origin '${this.#origin}' response is over bufferResponse.maxBytes (${this.#bufferMax})`,
          ),
        );
        return;
      }
      this.#buffer.push(chunk);
      return;
    }
    if (this.#pending) {
      this.#pending.push(chunk);
      return;
    }
    if (!(client as ResponseSide).write(chunk, () => controller.resume())) controller.pause();
  }

  /** The origin's body ended. */
  onEnd(): void {
    if (this.#buffer) {
      const body = Buffer.concat(this.#buffer, this.#bufferBytes);
      this.#buffer = undefined;
      this.#finishBuffered(body);
      return;
    }
    if (this.#pending) {
      this.#ended = true;
      return;
    }
    (this.#client as ResponseSide).end();
  }

  #finishBuffered(body: Buffer): void {
    const ctx = this.#ctx;
    ctx.responseBody = body;
    const result = this.#outbound.length ? runPhase('outbound', this.#outbound, ctx, false) : undefined;
    if (result)
      result.then(
        () => this.#writeBuffered(),
        (error: unknown) => this.#failAfterHead(error),
      );
    else this.#writeBuffered();
  }

  #writeBuffered(): void {
    const head = this.#ctx.response;
    if (!head || this.#client.destroyed) return;
    this.#headWritten = true;
    this.#client.answer(head.status, head.headers, this.#ctx.responseBody ?? EMPTY);
  }

  #failAfterHead(error: unknown): void {
    if (this.#headWritten || this.#client.headersSent) {
      this.#client.destroy(error as Error);
      return;
    }
    this.fail(
      new GatewayError('BACKLOT_GATEWAY_FILTER_FAILED', `outbound filter failed: ${(error as Error).message}`, {
        cause: error,
      }),
    );
  }

  /** The origin failed after its response head. */
  onBodyError(error: Error): void {
    if (this.#failed) return;
    if (this.#buffer) {
      this.#buffer = undefined;
      this.fail(originFailure(error, this.#origin, 0));
      return;
    }
    if (!this.#client.destroyed) this.#client.destroy(error);
  }

  // ───────── a tunnel ─────────

  /** The origin switched protocols: checks its `101`, then opens the tunnel to the client. */
  onUpgrade(upstream: Duplex, headers: IncomingHttpHeaders): void {
    const client = this.#client;
    const upgrade = this.#upgrade;
    if (client.kind !== 'upgrade' || !upgrade || client.destroyed || this.#clientGone) {
      upstream.destroy();
      return;
    }
    const refused = checkSwitchingResponse(upgrade.token, client.key, headers);
    if (refused !== undefined) {
      upstream.destroy();
      this.fail(new GatewayError('BACKLOT_GATEWAY_ORIGIN_ERROR', `origin '${this.#origin}' failed: ${refused}`));
      return;
    }
    this.#headWritten = true;
    client.open(upstream, headers, upgrade.token, upgrade.idleMs, this.#gateway.tunnels);
    upgrade.opened();
  }
}

const EMPTY = Buffer.alloc(0);
const NOOP = () => {};
