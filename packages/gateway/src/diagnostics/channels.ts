import { channel } from 'node:diagnostics_channel';

/**
 * Every `diagnostics_channel` name `@backlot/gateway` publishes on, in one
 * place, for APMs that subscribe to channels rather than OpenTelemetry. The
 * origins' commands publish on `@backlot/resilience`'s channels.
 */

/** Channel on which every finished request (answered or abandoned by its client) is published, as a {@link GatewayRequestMessage}. */
export const GATEWAY_REQUEST_CHANNEL = 'backlot:gateway:request';

/** What {@link GATEWAY_REQUEST_CHANNEL} publishes for one request. */
export interface GatewayRequestMessage {
  /** The request id (the `requestId` filter's, or the gateway's own). */
  requestId: string;
  /** HTTP method. */
  method: string;
  /** The normalised path. */
  path: string;
  /** The route id, when a route matched. */
  route: string | undefined;
  /** Status written (or that would have been, when the client went away). */
  status: number;
  /** Time from the request's arrival to the end of the response, in seconds. */
  seconds: number;
  /** Whether the client went away before the response was finished. */
  aborted: boolean;
}

/** @internal the channel object, created once. */
export const requestChannel = channel(GATEWAY_REQUEST_CHANNEL);
