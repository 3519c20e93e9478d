/** Why a rate-limit store call failed: it rejected, or it missed its deadline. */
export type StoreErrorReason = 'error' | 'timeout';

/** Labels and count of one series. */
type Series<L> = [labels: L, count: number];

function bump<L>(series: Map<string, Series<L>>, key: string, labels: L): void {
  const entry = series.get(key);
  if (entry) entry[1]++;
  else series.set(key, [labels, 1]);
}

/**
 * Counters of the rate-limit filters' shared stores: store errors by store
 * and reason, and fallbacks applied by route, store and mode. Read at scrape
 * time by the `backlot_gateway_rate_limit_*` families.
 */
export class RateLimitStats {
  /** Store calls that failed, by store and reason. */
  readonly storeErrors = new Map<string, Series<{ store: string; reason: StoreErrorReason }>>();
  /** Requests decided by the fallback (`failOpen` passed, `failClosed` answered 503), by route, store and mode. */
  readonly fallbacks = new Map<string, Series<{ route: string; store: string; mode: string }>>();

  /** Counts a failed store call. */
  storeError(store: string, reason: StoreErrorReason): void {
    bump(this.storeErrors, `${store}\u0000${reason}`, { store, reason });
  }

  /** Counts a request decided by the fallback. */
  fallback(route: string, store: string, mode: string): void {
    bump(this.fallbacks, `${route}\u0000${store}\u0000${mode}`, { route, store, mode });
  }
}
