import { type GatewayRequestMessage, requestChannel } from '../diagnostics/channels.js';
import type { GatewayError } from '../errors.js';
import type { RequestContext } from '../filters/request-context.js';
import type { AccessLog, AccessLogEntry } from '../logging/access-log.js';

/** Writes the access-log line of one exchange, when the log is on and samples it (built only then). @internal */
export function logAccess(
  accessLog: AccessLog | undefined,
  ctx: RequestContext,
  status: number,
  seconds: number,
  aborted: boolean,
): void {
  if (!accessLog?.wants(status, aborted)) return;
  accessLog.write({
    requestId: ctx.requestId,
    method: ctx.method,
    path: ctx.path,
    route: ctx.route?.id,
    origin: ctx.origin,
    status,
    durationMs: seconds * 1000,
    clientIp: ctx.clientIp,
    aborted,
    ...(ctx.failure ? { error: failureDetail(ctx.failure) } : {}),
  });
}

/** What the log (never the client) learns about a failure: its code, fault, message and cause. */
function failureDetail(error: GatewayError): NonNullable<AccessLogEntry['error']> {
  const cause = error.cause as { message?: unknown; code?: unknown } | undefined;
  return {
    code: error.code,
    fault: error.fault,
    message: error.message,
    ...(cause === undefined
      ? {}
      : { cause: `${typeof cause.code === 'string' ? `${cause.code}: ` : ''}${String(cause.message ?? cause)}` }),
  };
}

/** Publishes a finished exchange on `backlot:gateway:request`, when someone listens. @internal */
export function publishFinished(ctx: RequestContext, status: number, seconds: number, aborted: boolean): void {
  if (!requestChannel.hasSubscribers) return;
  requestChannel.publish({
    requestId: ctx.requestId,
    method: ctx.method,
    path: ctx.path,
    route: ctx.route?.id,
    status,
    seconds,
    aborted,
  } satisfies GatewayRequestMessage);
}
