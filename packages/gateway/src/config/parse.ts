import { InvalidConfigError } from '../errors.js';
import { type GatewayConfig, gatewayConfigSchema } from './schema.js';

/** A zod issue path as `routes[0].filters[1].store`. @internal */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else {
      const name = String(key);
      // a key with control characters or spaces (a bad header name) is quoted, so the message stays on one line
      const shown = /^[\w$-]+$/.test(name) ? name : JSON.stringify(name);
      out += out ? `.${shown}` : shown;
    }
  }
  return out || '(root)';
}

/**
 * Validates a gateway config and fills in every default.
 *
 * @throws {InvalidConfigError} whose `issues` name each bad field (`routes[1].origin: unknown origin 'x'…`).
 */
export function parseConfig(input: unknown): GatewayConfig {
  const parsed = gatewayConfigSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new InvalidConfigError(parsed.error.issues.map((issue) => `${formatPath(issue.path)}: ${issue.message}`));
}
