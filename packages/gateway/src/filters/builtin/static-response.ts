import { defineFilter, type Filter } from '../filter.js';

/** An endpoint filter answering every request with a fixed status, headers and body. */
export function staticFilter(status: number, headers: Record<string, string>, body: string): Filter {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return defineFilter({
    name: 'static',
    phase: 'endpoint',
    order: 0,
    run(ctx) {
      ctx.respond(status, body, { ...lower });
    },
  });
}
