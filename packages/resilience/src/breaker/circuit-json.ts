import { z } from 'zod';

/**
 * A circuit's exported state, opossum's `toJSON()` shape: what a serverless
 * function saves between invocations and passes back as the `state` option.
 * `state` is opossum's (plus Backlot's runtime overrides); `status` holds the
 * health window's counts.
 */
export interface CircuitJson {
  /** opossum's state fields, plus Backlot's runtime overrides. */
  state: {
    /** The command's key. */
    name: string;
    /** Whether the breaker may open at all (`circuitBreaker.enabled`). */
    enabled: boolean;
    /** The circuit lets calls through. */
    closed: boolean;
    /** The circuit short-circuits calls until its sleep window passes. */
    open: boolean;
    /** The sleep window passed: the next call is the one trial. */
    halfOpen: boolean;
    /** Always `false`: Backlot has no warm-up (kept for opossum compatibility). */
    warmUp: boolean;
    /** Whether the command was disposed. */
    shutdown: boolean;
    /** When the circuit last opened (`Date.now()` ms), if it ever did. */
    lastTimerAt: number | undefined;
    /** Runtime override: pinned open. */
    forceOpen: boolean;
    /** Runtime override: pinned closed. */
    forceClosed: boolean;
  };
  /** The health window's counts. */
  status: {
    /** Successes in the health window. */
    successes: number;
    /** Failures, timeouts and rejections in the health window. */
    errors: number;
  };
}

/**
 * What the `state` option accepts: a {@link CircuitJson}, or opossum's own
 * `toJSON()` output (its `status.failures` and `status.timeouts` count as
 * errors; its other fields are ignored).
 */
export interface CircuitJsonInput {
  /** The circuit's state; only `closed` is required (a closed circuit). */
  state: {
    closed: boolean;
    open?: boolean | undefined;
    halfOpen?: boolean | undefined;
    enabled?: boolean | undefined;
    lastTimerAt?: number | undefined;
    forceOpen?: boolean | undefined;
    forceClosed?: boolean | undefined;
  };
  /** Health counts to start the window with. */
  status?:
    | {
        successes?: number | undefined;
        errors?: number | undefined;
        failures?: number | undefined;
        timeouts?: number | undefined;
      }
    | undefined;
}

const count = z.number().int().min(0, 'counts must be 0 or more');

/** The schema of {@link CircuitJsonInput}. @internal */
export const circuitJsonSchema = z.object({
  state: z.looseObject({
    closed: z.boolean({ error: 'state.state.closed must be a boolean (pass what toJSON() returned)' }),
    open: z.boolean().optional(),
    halfOpen: z.boolean().optional(),
    enabled: z.boolean().optional(),
    lastTimerAt: z.number().optional(),
    forceOpen: z.boolean().optional(),
    forceClosed: z.boolean().optional(),
  }),
  status: z
    .looseObject({
      successes: count.optional(),
      errors: count.optional(),
      failures: count.optional(),
      timeouts: count.optional(),
    })
    .optional(),
});

/** A validated `state` option. @internal */
export type RestoredCircuit = z.infer<typeof circuitJsonSchema>;
