import type { Client } from 'cassandra-driver';
import { z } from 'zod';

/** Consistency levels a read or a plain write may use (the driver's `types.consistencies` names). */
export type CassandraConsistency =
  | 'any'
  | 'one'
  | 'two'
  | 'three'
  | 'quorum'
  | 'all'
  | 'localQuorum'
  | 'eachQuorum'
  | 'localOne';

/** Consistency levels of the Paxos phase of a lightweight transaction (`ifVersion` writes). */
export type CassandraSerialConsistency = 'serial' | 'localSerial';

const consistency = z.enum(['any', 'one', 'two', 'three', 'quorum', 'all', 'localQuorum', 'eachQuorum', 'localOne'], {
  error:
    "must be one of 'localQuorum' (default), 'localOne', 'quorum', 'one', 'all', 'eachQuorum', 'two', 'three', 'any'",
});
const serialConsistency = z.enum(['serial', 'localSerial'], {
  error: "must be 'localSerial' (default) or 'serial'",
});
const identifier = z
  .string()
  .regex(/^[a-z][a-z0-9_]{0,47}$/, 'must be 1-48 lower-case letters, digits or _, starting with a letter');

/** @internal The options schema of {@link createCassandraStore}: the type, the defaults and the error text in one place. */
export const cassandraStoreOptionsSchema = z
  .object({
    client: z
      .custom<Client>(
        (value) => typeof (value as Client | undefined)?.execute === 'function',
        'must be a cassandra-driver Client (new Client({ contactPoints, localDataCenter }))',
      )
      .optional(),
    contactPoints: z
      .array(z.string().min(1), { error: "must be an array of 'host:port' strings, e.g. ['127.0.0.1:9042']" })
      .min(1, "must name at least one node, e.g. ['127.0.0.1:9042']")
      .optional(),
    localDataCenter: z
      .string()
      .min(1, "must be the local data center's name, e.g. 'datacenter1'")
      .default('datacenter1'),
    keyspace: identifier,
    replication: z
      .record(z.string(), z.union([z.string(), z.number().int().positive()]), {
        error: "must be a CQL replication map, e.g. { class: 'NetworkTopologyStrategy', datacenter1: 3 }",
      })
      .default({ class: 'SimpleStrategy', replication_factor: 1 }),
    kvTable: identifier.default('kv'),
    seriesTable: identifier.default('series'),
    buckets: z
      .number()
      .int()
      .min(1, 'must be an integer from 1 to 1024 (fixed for the life of the table)')
      .max(1024, 'must be an integer from 1 to 1024 (fixed for the life of the table)')
      .default(16),
    consistency: consistency.default('localQuorum'),
    serialConsistency: serialConsistency.default('localSerial'),
    timeoutMs: z
      .number()
      .int()
      .positive('must be a positive number of milliseconds, e.g. 5000')
      .max(600_000, 'must be at most 600000 ms')
      .default(5000),
    connectTimeoutMs: z.number().int().positive('must be a positive number of milliseconds').default(5000),
    retries: z
      .number()
      .int()
      .min(0, 'must be an integer from 0 to 10: attempts after the first, for idempotent statements only')
      .max(10, 'must be an integer from 0 to 10: attempts after the first, for idempotent statements only')
      .default(2),
  })
  .refine((value) => value.client !== undefined || value.contactPoints !== undefined, {
    message: "give either client (a cassandra-driver Client) or contactPoints, e.g. ['127.0.0.1:9042']",
    path: ['contactPoints'],
  });

/** Options of {@link createCassandraStore} (fields with a default may be left out). */
export type CassandraStoreOptions = z.input<typeof cassandraStoreOptionsSchema>;

/** @internal Options after defaults. */
export type ResolvedCassandraOptions = z.output<typeof cassandraStoreOptionsSchema>;
