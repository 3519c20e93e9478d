import type { CollapserMetricsSnapshot } from './collapser-metrics.js';
import type { CommandMetricsSnapshot, GroupMetricsSnapshot } from './snapshot.js';

/** Something that has command and group metrics: a `CommandRegistry`. */
export interface MetricsSource {
  /** Every command's metrics. */
  commandMetrics(): CommandMetricsSnapshot[];
  /** Every group's isolation metrics. */
  groupMetrics(): GroupMetricsSnapshot[];
  /** Every collapser's metrics (optional: sources without collapsers may omit it). */
  collapserMetrics?(): CollapserMetricsSnapshot[];
}
