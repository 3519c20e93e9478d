export { parseConfig } from './config/parse.js';
export type { ConfigObjectStore, RemoteConfigOptions } from './config/remote.js';
export type {
  FilterConfig,
  FilterConfigInput,
  GatewayConfig,
  GatewayConfigInput,
  OriginConfig,
  OriginConfigInput,
  RouteConfig,
  RouteConfigInput,
} from './config/schema.js';
export { GATEWAY_REQUEST_CHANNEL, type GatewayRequestMessage } from './diagnostics/channels.js';
export {
  ERROR_FAULT,
  ERROR_STATUS,
  type Fault,
  GATEWAY_ERROR_CODES,
  GatewayError,
  type GatewayErrorCode,
  InvalidConfigError,
  isGatewayError,
  isInvalidConfigError,
} from './errors.js';
export type { StoreFallback } from './filters/builtin/rate-limit.js';
export type { AuthInfo, GatewayContext, ResponseHead, ResponseHeaders } from './filters/context.js';
export { defineFilter, FILTER_PHASES, type Filter, type FilterPhase } from './filters/filter.js';
export { createGateway, type Gateway, type GatewayOptions, type RouteSummary } from './gateway.js';
export type { AccessLogEntry, GatewayLogger } from './logging/access-log.js';
export { type RegisterGatewayPrometheusOptions, registerPrometheusMetrics } from './metrics/prometheus.js';
export { ORIGIN_CALL, type OriginCall, type OriginDispatchOptions, originCall } from './origins/chain/origin-call.js';
export type { OriginChainBuilder, OriginInterceptor } from './origins/chain/origin-chain.js';
export type { OriginServer } from './origins/server.js';
export { faultOf } from './proxy/fault.js';
export { MemoryRateLimitStore, type MemoryRateLimitStoreOptions } from './rate-limit/memory-store.js';
export type { RedisClientLike } from './rate-limit/redis-client.js';
export { RedisRateLimitStore, type RedisRateLimitStoreOptions } from './rate-limit/redis-store.js';
export type { RateLimitStore, TakeResult, TokenBucket } from './rate-limit/store.js';
export { type Route, type RouteMatch, RouteTable } from './routing/route-table.js';
export type { StrictPaths } from './security/path-policy.js';
