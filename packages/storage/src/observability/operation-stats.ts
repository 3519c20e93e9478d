import { LatencyHistogram } from '@backlot/metrics-core';

/** Counters and latency of one operation of one store adapter. @internal */
export interface OperationStats {
  /** Completed operations by outcome (`success`, `not_found`, `precondition_failed`, …). */
  readonly outcomes: Map<string, number>;
  /** Latency of every completed operation. */
  readonly latency: LatencyHistogram;
}

/**
 * Cumulative operation stats of every store in the process, by adapter name
 * then operation: what the Prometheus collectors read when scraped.
 * @internal
 */
export const storageStats = new Map<string, Map<string, OperationStats>>();

/** The stats of `operation` on `store` (created on first use). @internal */
export function statsOf(store: string, operation: string): OperationStats {
  let byOperation = storageStats.get(store);
  if (!byOperation) {
    byOperation = new Map();
    storageStats.set(store, byOperation);
  }
  let stats = byOperation.get(operation);
  if (!stats) {
    stats = { outcomes: new Map(), latency: new LatencyHistogram() };
    byOperation.set(operation, stats);
  }
  return stats;
}

/** The `outcome` label of an operation's error: its storage code without prefix (`not_found`, …), else `error`. */
export function outcomeOf(error: unknown): string {
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && code.startsWith('BACKLOT_STORAGE_')) {
    return code.slice('BACKLOT_STORAGE_'.length).toLowerCase();
  }
  if ((error as { name?: unknown } | undefined)?.name === 'AbortError') return 'aborted';
  return 'error';
}
