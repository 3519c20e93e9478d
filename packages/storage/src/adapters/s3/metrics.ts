import { channel } from 'node:diagnostics_channel';
import type { S3Client } from '@aws-sdk/client-s3';
import { S3_COMMAND_CHANNEL } from '../../diagnostics/channels.js';

/** Counters of one S3 operation (an SDK command such as `PutObjectCommand`). */
export interface S3OperationMetrics {
  /** Commands sent (each counted once, whatever its attempts). */
  requests: number;
  /** Extra attempts made by the SDK's retry strategy. */
  retries: number;
  /** Commands that failed after their last attempt. */
  errors: number;
  /** Time spent waiting between attempts, in ms. */
  retryDelayMs: number;
}

/** Counters of an S3 store, in total and per SDK command. */
export interface S3StoreMetrics extends S3OperationMetrics {
  /** The same counters per SDK command name. */
  byCommand: Record<string, S3OperationMetrics>;
}

/** What `backlot:storage:s3:command` publishes after every SDK command. */
export interface S3CommandMessage {
  /** SDK command name, e.g. `PutObjectCommand`. */
  command: string;
  /** Attempts made (1 = no retry). */
  attempts: number;
  /** Time waited between attempts, in ms. */
  retryDelayMs: number;
  /** HTTP status of the last attempt, when there was a response. */
  status: number | undefined;
  /** The error, when the command failed. */
  error: unknown;
}

const commandChannel = channel(S3_COMMAND_CHANNEL);

interface MetadataShape {
  $metadata?: { attempts?: number; totalRetryDelay?: number; httpStatusCode?: number };
}

let nextId = 0;

/** Counts every command sent through `client`, with the SDK's retries, and publishes it on the channel. */
export function instrumentClient(client: S3Client): () => S3StoreMetrics {
  const total: S3OperationMetrics = { requests: 0, retries: 0, errors: 0, retryDelayMs: 0 };
  const byCommand: Record<string, S3OperationMetrics> = {};

  const record = (command: string, meta: MetadataShape['$metadata'], error: unknown) => {
    const attempts = meta?.attempts ?? 1;
    const delay = meta?.totalRetryDelay ?? 0;
    let counters = byCommand[command];
    if (!counters) {
      counters = { requests: 0, retries: 0, errors: 0, retryDelayMs: 0 };
      byCommand[command] = counters;
    }
    for (const c of [total, counters]) {
      c.requests += 1;
      c.retries += Math.max(0, attempts - 1);
      c.retryDelayMs += delay;
      if (error !== undefined) c.errors += 1;
    }
    if (commandChannel.hasSubscribers) {
      commandChannel.publish({
        command,
        attempts,
        retryDelayMs: delay,
        status: meta?.httpStatusCode,
        error,
      } satisfies S3CommandMessage);
    }
  };

  client.middlewareStack.add(
    (next, context) => async (args) => {
      try {
        const result = await next(args);
        record(context.commandName ?? 'unknown', (result.output as MetadataShape).$metadata, undefined);
        return result;
      } catch (error) {
        record(context.commandName ?? 'unknown', (error as MetadataShape | undefined)?.$metadata, error);
        throw error;
      }
    },
    { step: 'initialize', name: `backlotStorageMetrics${nextId++}` },
  );

  return () => ({
    ...total,
    byCommand: Object.fromEntries(Object.entries(byCommand).map(([name, c]) => [name, { ...c }])),
  });
}
