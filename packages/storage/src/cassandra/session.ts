import type { Client, QueryOptions, types } from 'cassandra-driver';
import { abortReasonOr, throwIfAborted } from '../core/signal.js';
import type { CallOptions } from '../core/types.js';
import { cassandraError } from './errors.js';
import type { ResolvedCassandraOptions } from './options.js';

/** A bound value of a CQL statement. */
export type CqlValue = string | number | boolean | Date | Buffer | null | types.Long | types.TimeUuid | types.Uuid;

/** @internal What a statement needs beyond its CQL and values. */
export interface StatementOptions extends CallOptions {
  /** Safe to run twice: plain reads and writes whose values are fixed client-side. Never an LWT. */
  idempotent: boolean;
  /** Rows per page for reads. */
  fetchSize?: number | undefined;
  /** Page to continue from. */
  pageState?: string | undefined;
}

/**
 * @internal One place where the adapter talks to the driver: every statement
 * is prepared, carries the configured consistency levels and the `timeoutMs`
 * deadline, is retried only when idempotent, honours the caller's signal, and
 * fails with a coded error.
 */
export class CassandraSession {
  readonly client: Client;
  readonly options: ResolvedCassandraOptions;
  readonly #consistency: number;
  readonly #serialConsistency: number;
  /** The driver's query options of idempotent and non-idempotent statements, built once (the driver does not mutate them). */
  readonly #idempotent: QueryOptions;
  readonly #conditional: QueryOptions;

  constructor(client: Client, options: ResolvedCassandraOptions, consistencies: typeof types.consistencies) {
    this.client = client;
    this.options = options;
    this.#consistency = consistencies[options.consistency];
    this.#serialConsistency = consistencies[options.serialConsistency];
    const base = {
      prepare: true,
      consistency: this.#consistency,
      serialConsistency: this.#serialConsistency,
      readTimeout: options.timeoutMs,
    };
    this.#idempotent = Object.freeze({ ...base, isIdempotent: true });
    this.#conditional = Object.freeze({ ...base, isIdempotent: false });
  }

  /** Runs a schema statement (not prepared, not retried). */
  async ddl(cql: string, options?: CallOptions): Promise<void> {
    throwIfAborted(options?.signal);
    try {
      await raceSignal(
        this.client.execute(cql, [], { readTimeout: Math.max(this.options.timeoutMs, 30_000), isIdempotent: false }),
        options?.signal,
      );
    } catch (error) {
      if (options?.signal?.aborted) throw abortReasonOr(options.signal, error);
      throw cassandraError('ensureSchema', error);
    }
  }

  /** Runs `cql` with `values`; `what` names the operation in errors. */
  async execute(what: string, cql: string, values: CqlValue[], options: StatementOptions): Promise<types.ResultSet> {
    const signal = options.signal;
    if (signal) throwIfAborted(signal);
    const shared = options.idempotent ? this.#idempotent : this.#conditional;
    // Paged reads get their own options; every other statement shares the prebuilt ones (no allocation).
    const query =
      options.fetchSize || options.pageState
        ? {
            ...shared,
            ...(options.fetchSize ? { fetchSize: options.fetchSize } : {}),
            ...(options.pageState ? { pageState: options.pageState } : {}),
          }
        : shared;
    try {
      const run = this.client.execute(cql, values, query);
      return await (signal ? raceSignal(run, signal) : run);
    } catch (error) {
      if (options.signal?.aborted) throw abortReasonOr(options.signal, error);
      throw cassandraError(what, error);
    }
  }
}

function raceSignal<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}
