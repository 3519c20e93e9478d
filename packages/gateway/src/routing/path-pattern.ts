/** A compiled path matcher: returns the params it captured, or `undefined`. */
export interface PathMatcher {
  /** Literal length, used to rank more specific routes first. */
  readonly specificity: number;
  /** The literal prefix matched (for `stripPrefix`). */
  readonly prefix: string;
  match(path: string): Record<string, string> | undefined;
}

const NO_PARAMS: Record<string, string> = Object.freeze({}) as Record<string, string>;

function safeDecode(part: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    return part;
  }
}

function trimSlash(path: string): string {
  return path.length > 1 && path.endsWith('/') ? path.slice(0, -1) : path;
}

/** `pathPrefix` matcher: `/api` matches `/api` and `/api/x`, never `/apix`. */
export function prefixMatcher(pathPrefix: string): PathMatcher {
  const prefix = trimSlash(pathPrefix);
  return {
    specificity: prefix.length,
    prefix,
    match: (path) =>
      prefix === '/' || path === prefix || (path.startsWith(prefix) && path.charCodeAt(prefix.length) === 47)
        ? NO_PARAMS
        : undefined,
  };
}

/**
 * `path` pattern matcher: segments are literals, `:name` params (one segment)
 * or a final `*` (the rest, captured as `*`). `/titles/:id` matches
 * `/titles/42` with `{ id: '42' }`.
 */
export function patternMatcher(pattern: string): PathMatcher {
  const segments = trimSlash(pattern).split('/').slice(1);
  const literal = segments.filter((s) => !s.startsWith(':') && s !== '*');
  const firstDynamic = segments.findIndex((s) => s.startsWith(':') || s === '*');
  const prefix = `/${(firstDynamic === -1 ? segments : segments.slice(0, firstDynamic)).join('/')}`;
  const wildcard = segments[segments.length - 1] === '*';
  return {
    specificity: literal.join('/').length * 2 + segments.length - (wildcard ? 1 : 0),
    prefix: trimSlash(prefix),
    match(path) {
      const parts = trimSlash(path).split('/').slice(1);
      if (wildcard ? parts.length < segments.length - 1 : parts.length !== segments.length) return undefined;
      let params: Record<string, string> | undefined;
      for (let i = 0; i < segments.length; i++) {
        const segment = segments[i] as string;
        if (segment === '*' && i === segments.length - 1) {
          params ??= {};
          params['*'] = parts.slice(i).join('/');
          break;
        }
        const part = parts[i];
        if (part === undefined) return undefined;
        if (segment.startsWith(':')) {
          if (part === '') return undefined;
          params ??= {};
          params[segment.slice(1)] = safeDecode(part);
        } else if (segment !== part) return undefined;
      }
      return params ?? NO_PARAMS;
    },
  };
}
