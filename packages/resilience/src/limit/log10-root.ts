/**
 * `max(1, floor(log10(limit)))`: the default scale of the Vegas thresholds
 * (Netflix's `Log10RootIntFunction` with a baseline of 0).
 *
 * @internal
 */
export function log10Root(limit: number): number {
  return limit < 10 ? 1 : Math.max(1, Math.floor(Math.log10(limit)));
}
