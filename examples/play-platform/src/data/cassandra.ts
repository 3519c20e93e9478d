import {
  type CassandraConsistency,
  type CassandraStore,
  createCassandraStore,
  isBackendError,
  type TimeSeries,
} from '@backlot/storage';
import { z } from 'zod';
import { type Progress, progressSchema } from '../stream/viewing-history.ts';

/** Real mode's Cassandra: where bookmarks, licences and viewing history go. */
export interface CassandraOptions {
  /** Nodes to contact first, `host:port` (e.g. `['127.0.0.1:9042']`). */
  contactPoints: string[];
  /** The keyspace (created with its tables if missing; default `play_platform`). */
  keyspace?: string | undefined;
  /** The local data center (default `datacenter1`, a single node's). */
  localDataCenter?: string | undefined;
  /** Consistency of reads and plain writes (default `localQuorum`). */
  consistency?: CassandraConsistency | undefined;
  /** Deadline of each statement, and of the start's connection and schema check (default 5000 ms). */
  timeoutMs?: number | undefined;
}

/** The default keyspace of the example's data. */
export const DEFAULT_KEYSPACE = 'play_platform';

const CONSISTENCIES = [
  'localQuorum',
  'localOne',
  'quorum',
  'one',
  'all',
  'eachQuorum',
  'two',
  'three',
] as const satisfies readonly CassandraConsistency[];

/**
 * The environment of real mode's Cassandra (`npm start` reads it; `--cassandra`
 * overrides the contact points):
 *
 * | variable | default | meaning |
 * | --- | --- | --- |
 * | `BACKLOT_CASSANDRA_CONTACT_POINTS` | unset (no Cassandra) | `host:port[,host:port…]` of the nodes |
 * | `BACKLOT_CASSANDRA_KEYSPACE` | `play_platform` | the keyspace, created with its tables if missing |
 * | `BACKLOT_CASSANDRA_DATACENTER` | `datacenter1` | the local data center |
 * | `BACKLOT_CASSANDRA_CONSISTENCY` | `localQuorum` | consistency of reads and plain writes |
 */
export const cassandraEnvSchema = z.object({
  BACKLOT_CASSANDRA_CONTACT_POINTS: z
    .string()
    .regex(
      /^[^\s:,]+:\d{1,5}(,\s*[^\s:,]+:\d{1,5})*$/,
      'BACKLOT_CASSANDRA_CONTACT_POINTS must be host:port[,host:port…]',
    )
    .optional()
    .describe('host:port of the Cassandra nodes, e.g. 127.0.0.1:9042'),
  BACKLOT_CASSANDRA_KEYSPACE: z
    .string()
    .regex(/^[a-z][a-z0-9_]{0,47}$/, 'BACKLOT_CASSANDRA_KEYSPACE must be 1-48 lower-case letters, digits or _')
    .default(DEFAULT_KEYSPACE)
    .describe('a keyspace name, e.g. play_platform'),
  BACKLOT_CASSANDRA_DATACENTER: z
    .string()
    .min(1)
    .default('datacenter1')
    .describe("the local data center's name, e.g. datacenter1"),
  BACKLOT_CASSANDRA_CONSISTENCY: z
    .enum(CONSISTENCIES, { error: `BACKLOT_CASSANDRA_CONSISTENCY must be one of ${CONSISTENCIES.join(', ')}` })
    .default('localQuorum')
    .describe(`one of ${CONSISTENCIES.join(', ')}`),
});

/**
 * Cassandra does not answer at start (no node reachable, or no answer in
 * time): the platform does not start. Same exit code as a bad environment
 * (`ConfigError`, 78): the address, or the service, must be fixed first.
 */
export class CassandraUnreachableError extends Error {
  readonly code = 'CASSANDRA_UNREACHABLE';
  /** EX_CONFIG, as for other bad configuration. */
  readonly exitCode = 78;
  constructor(contactPoints: string[], detail: string, options?: ErrorOptions) {
    super(
      `Cassandra at ${contactPoints.join(',')} is not reachable (${detail}); start it (npm run services -- up cassandra) or fix --cassandra / BACKLOT_CASSANDRA_CONTACT_POINTS`,
      options,
    );
    this.name = 'CassandraUnreachableError';
  }
}

/** The example's data on Cassandra: the key-value namespaces and the viewing-history series. */
export interface PlayCassandra {
  /** Bookmarks and licences, as key-value namespaces (its `close()` ends the connection). */
  store: CassandraStore;
  /** Each profile's viewing history, newest first (one partition per profile). */
  history: TimeSeries<Progress>;
  /** The keyspace of the data. */
  keyspace: string;
}

/**
 * Opens the store, creates the keyspace and tables if missing, all within
 * `timeoutMs`; an unreachable node is a {@link CassandraUnreachableError}.
 */
export async function openCassandra(options: CassandraOptions): Promise<PlayCassandra> {
  const keyspace = options.keyspace ?? DEFAULT_KEYSPACE;
  const timeoutMs = options.timeoutMs ?? 5000;
  const store = await createCassandraStore({
    contactPoints: options.contactPoints,
    keyspace,
    localDataCenter: options.localDataCenter ?? 'datacenter1',
    consistency: options.consistency ?? 'localQuorum',
    timeoutMs,
    connectTimeoutMs: timeoutMs,
  });
  try {
    await store.ensureSchema({ signal: AbortSignal.timeout(Math.max(timeoutMs, 30_000)) });
  } catch (error) {
    await store.close().catch(() => {});
    if (isBackendError(error) && error.retryable) {
      throw new CassandraUnreachableError(options.contactPoints, String(error.status), { cause: error });
    }
    if ((error as Error | undefined)?.name === 'TimeoutError') {
      throw new CassandraUnreachableError(options.contactPoints, 'no answer in time', { cause: error });
    }
    throw error;
  }
  return { store, history: store.series('viewing-history', progressSchema), keyspace };
}
