import type { FilterConfig } from '../../config/schema.js';
import type { Filter } from '../filter.js';
import { apiKeyFilter } from './api-key.js';
import { bodyLimitFilter } from './body-limit.js';
import { corsFilters } from './cors.js';
import { headerFilters } from './headers.js';
import { jwtFilter } from './jwt.js';
import { rateLimitFilter } from './rate-limit.js';
import { requestIdFilters } from './request-id.js';
import { staticFilter } from './static-response.js';

/** The filters a built-in filter config stands for. */
export function builtinFilters(config: FilterConfig): Filter[] {
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
      return [rateLimitFilter(config)];
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
