import { defineFilter, type Filter } from '../filter.js';

interface HeaderEdits {
  set: Record<string, string>;
  remove: string[];
}

/** Sets and removes request headers (inbound) and response headers (outbound). */
export function headerFilters(request: HeaderEdits, response: HeaderEdits): Filter[] {
  const reqSet = Object.entries(request.set).map(([k, v]) => [k.toLowerCase(), v] as const);
  const reqRemove = request.remove.map((k) => k.toLowerCase());
  const resSet = Object.entries(response.set).map(([k, v]) => [k.toLowerCase(), v] as const);
  const resRemove = response.remove.map((k) => k.toLowerCase());
  return [
    defineFilter({
      name: 'headers',
      phase: 'inbound',
      order: 0,
      run(ctx) {
        for (const name of reqRemove) delete ctx.upstreamHeaders[name];
        for (const [name, value] of reqSet) ctx.upstreamHeaders[name] = value;
      },
    }),
    defineFilter({
      name: 'headers',
      phase: 'outbound',
      order: 0,
      run(ctx) {
        if (!ctx.response) return;
        for (const name of resRemove) delete ctx.response.headers[name];
        for (const [name, value] of resSet) ctx.response.headers[name] = value;
      },
    }),
  ];
}
