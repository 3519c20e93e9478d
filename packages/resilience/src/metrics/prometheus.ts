import type { CollapserMetricsSnapshot } from './collapser-metrics.js';
import { COMMAND_EVENTS } from './events.js';
import type { LatencySnapshot } from './rolling-latency.js';
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

/** Options of {@link prometheusMetrics}. */
export interface PrometheusOptions {
  /** Metric name prefix (default `backlot`). */
  prefix?: string | undefined;
}

const QUANTILES = ['0.5', '0.9', '0.99', '0.995', '0.999'] as const;
const PERCENTILE_OF: Record<(typeof QUANTILES)[number], keyof LatencySnapshot['percentiles']> = {
  '0.5': '50',
  '0.9': '90',
  '0.99': '99',
  '0.995': '99.5',
  '0.999': '99.9',
};

/** Escapes a label value per the exposition format. */
function label(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"');
}

function snake(event: string): string {
  return event.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

/**
 * The registry's metrics in the Prometheus text exposition format (0.0.4),
 * ready to serve at `/metrics`: cumulative event counters, rolling-window
 * gauges, circuit state, concurrency, latency summaries (seconds) and each
 * group's isolation.
 *
 * @example
 * ```ts
 * http.createServer((req, res) => {
 *   if (req.url === '/metrics') {
 *     res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
 *     res.end(prometheusMetrics(defaultRegistry));
 *   }
 * });
 * ```
 */
export function prometheusMetrics(source: MetricsSource, options: PrometheusOptions = {}): string {
  const p = options.prefix ?? 'backlot';
  const lines: string[] = [];
  const family = (name: string, type: 'counter' | 'gauge' | 'summary', help: string) => {
    lines.push(`# HELP ${p}_${name} ${help}`, `# TYPE ${p}_${name} ${type}`);
  };
  const commands = source.commandMetrics();
  const groups = source.groupMetrics();
  const cmd = (m: CommandMetricsSnapshot) => `command="${label(m.key)}",group="${label(m.group)}"`;

  family('command_events_total', 'counter', 'Command events since start, by event.');
  for (const m of commands) {
    for (const event of COMMAND_EVENTS) {
      lines.push(`${p}_command_events_total{${cmd(m)},event="${snake(event)}"} ${m.cumulativeCounts[event]}`);
    }
  }
  family('command_rolling_events', 'gauge', 'Command events in the rolling window, by event.');
  for (const m of commands) {
    for (const event of COMMAND_EVENTS) {
      lines.push(`${p}_command_rolling_events{${cmd(m)},event="${snake(event)}"} ${m.counts[event]}`);
    }
  }
  family('command_circuit_open', 'gauge', '1 when the circuit is open or half-open, else 0.');
  for (const m of commands) lines.push(`${p}_command_circuit_open{${cmd(m)}} ${m.circuit === 'closed' ? 0 : 1}`);
  family('command_circuit_state', 'gauge', 'Circuit state: 1 for the current state.');
  for (const m of commands) {
    for (const state of ['closed', 'open', 'half-open'] as const) {
      lines.push(`${p}_command_circuit_state{${cmd(m)},state="${state}"} ${m.circuit === state ? 1 : 0}`);
    }
  }
  family('command_error_percentage', 'gauge', 'Error percentage the circuit breaker sees over the rolling window.');
  for (const m of commands) lines.push(`${p}_command_error_percentage{${cmd(m)}} ${m.health.errorPercentage}`);
  family('command_concurrent_executions', 'gauge', 'Executions running now.');
  for (const m of commands) lines.push(`${p}_command_concurrent_executions{${cmd(m)}} ${m.concurrency.current}`);
  family('command_rolling_max_concurrent_executions', 'gauge', 'Most executions at once in the rolling window.');
  for (const m of commands) {
    lines.push(`${p}_command_rolling_max_concurrent_executions{${cmd(m)}} ${m.concurrency.rollingMax}`);
  }
  for (const [kind, help] of [
    ['execute', 'Latency of run alone over the rolling window, in seconds.'],
    ['total', 'Latency seen by callers (fallback, retries included) over the rolling window, in seconds.'],
  ] as const) {
    const name = `command_latency_${kind}_seconds`;
    family(name, 'summary', help);
    for (const m of commands) {
      const latency = kind === 'execute' ? m.latencyExecute : m.latencyTotal;
      for (const q of QUANTILES) {
        lines.push(`${p}_${name}{${cmd(m)},quantile="${q}"} ${latency.percentiles[PERCENTILE_OF[q]] / 1000}`);
      }
      lines.push(`${p}_${name}_sum{${cmd(m)}} ${(latency.mean * latency.count) / 1000}`);
      lines.push(`${p}_${name}_count{${cmd(m)}} ${latency.count}`);
    }
  }

  const grp = (g: GroupMetricsSnapshot) => `group="${label(g.group)}",kind="${g.kind}"`;
  for (const [name, type, help, value] of [
    [
      'group_limit',
      'gauge',
      'Concurrent calls allowed now (fixed bulkhead or adaptive limit).',
      (g: GroupMetricsSnapshot) => g.limit,
    ],
    ['group_active', 'gauge', 'Calls running now.', (g: GroupMetricsSnapshot) => g.active],
    ['group_queued', 'gauge', 'Calls waiting for a slot now.', (g: GroupMetricsSnapshot) => g.queued],
    ['group_completed_total', 'counter', 'Calls that ran to completion.', (g: GroupMetricsSnapshot) => g.completed],
    [
      'group_rejected_total',
      'counter',
      'Calls rejected because the group was full.',
      (g: GroupMetricsSnapshot) => g.rejected,
    ],
  ] as const) {
    family(name, type, help);
    for (const g of groups) lines.push(`${p}_${name}{${grp(g)}} ${value(g)}`);
  }
  return `${lines.join('\n')}\n`;
}
