import type { FilterConfig } from '../../config/schema.js';
import type { RateLimitStore } from '../../rate-limit/store.js';
import type { Filter } from '../filter.js';
import { apiKeyFilter } from './api-key.js';
import { bodyLimitFilter } from './body-limit.js';
import { corsFilters } from './cors.js';
import { headerFilters } from './headers.js';
import { jwtFilter } from './jwt.js';
import { type RateLimitDeps, rateLimitFilter } from './rate-limit.js';
import { requestIdFilters } from './request-id.js';
import { staticFilter } from './static-response.js';

/** What built-in filters need besides their config (the rate limit's stores, stats and logger). @internal */
export interface BuiltinFilterDeps {
  /** Named shared rate-limit stores (`createGateway`'s `rateLimitStores`). */
  readonly rateLimitStores?: Readonly<Record<string, RateLimitStore>> | undefined;
  /** Where the filter sits: `global` or `route:<id>`, plus its index in that list. */
  readonly scope?: string | undefined;
  readonly stats?: RateLimitDeps['stats'];
  readonly logger?: RateLimitDeps['logger'];
}

/** The filters a built-in filter config stands for. */
export function builtinFilters(config: FilterConfig, deps: BuiltinFilterDeps = {}): Filter[] {
  switch (config.type) {
    case 'requestId':
      return requestIdFilters(config.header);
    case 'headers':
      return headerFilters(config.request, config.response);
    case 'cors':
      return corsFilters(config);
    case 'jwt':
      return [jwtFilter(config)];
    case 'apiKey':
      return [apiKeyFilter(config.header, config.keys)];
    case 'rateLimit':
      return [
        rateLimitFilter(config, {
          store: config.store === undefined ? undefined : deps.rateLimitStores?.[config.store],
          scope: deps.scope,
          stats: deps.stats,
          logger: deps.logger,
        }),
      ];
    case 'bodyLimit':
      return [bodyLimitFilter(config.maxBytes)];
    case 'static':
      return [staticFilter(config.status, config.headers, config.body)];
  }
}

export {
  apiKeyFilter,
  bodyLimitFilter,
  corsFilters,
  headerFilters,
  jwtFilter,
  rateLimitFilter,
  requestIdFilters,
  staticFilter,
};
