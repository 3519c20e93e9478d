/** The part of a pino logger the gateway uses (pino's `Logger` fits). */
export interface GatewayLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** One access-log line. */
export interface AccessLogEntry {
  requestId: string;
  method: string;
  path: string;
  route: string | undefined;
  origin: string | undefined;
  status: number;
  durationMs: number;
  clientIp: string;
  aborted: boolean;
  /** For an error answer: its code, whose fault it was, and the detail clients never see (origin address, cause). */
  error?: { code: string; fault: 'client' | 'origin' | 'gateway'; message: string; cause?: string } | undefined;
}

/** A sampled access log. @internal */
export interface AccessLog {
  /** Whether this request is logged: decided before the entry is built, so unsampled requests allocate nothing. */
  wants(status: number, aborted: boolean): boolean;
  /** Writes one entry. */
  write(entry: AccessLogEntry): void;
}

/**
 * A sampled access log: each request is logged with probability
 * `sampleRate`; with `errors`, every 5xx and every aborted request is logged
 * whatever the sample. Nothing is logged without a logger.
 */
export function createAccessLog(
  logger: GatewayLogger | undefined,
  options: { sampleRate: number; errors: boolean },
  random: () => number = Math.random,
): AccessLog | undefined {
  if (!logger || (options.sampleRate === 0 && !options.errors)) return undefined;
  const { sampleRate, errors } = options;
  return {
    wants: (status, aborted) => (errors && (status >= 500 || aborted)) || (sampleRate > 0 && random() < sampleRate),
    write: (entry) => logger.info(entry, 'request'),
  };
}
