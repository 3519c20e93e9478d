import type { Admin, ConfigResourceTypes } from 'kafkajs';
import type { EventsLogger } from '../../util/logger.js';
import { StateError } from '../errors.js';

/**
 * Topic settings a changelog is created with, so that compaction keeps it short and a
 * restore reads about one record per live entry, not every update ever made:
 * - `cleanup.policy=compact`: only the latest record of each key is kept;
 * - `segment.ms` (10 min) and `segment.bytes` (64 MiB): the active segment, which is never
 *   compacted, rolls at least this often, so superseded updates become cleanable soon;
 * - `min.cleanable.dirty.ratio` (0.1): the cleaner runs once 10 % of the log is superseded
 *   (Kafka's default 0.5 lets a changelog grow to twice its live size);
 * - `delete.retention.ms` (1 h): a deleted entry's tombstone is removed an hour after
 *   compaction (Kafka's default is a day), long after any restore reading it ended.
 *
 * `kafkaCheckpoints({ changelogConfig })` overrides any of them.
 */
export const CHANGELOG_TOPIC_CONFIG: Readonly<Record<string, string>> = Object.freeze({
  'cleanup.policy': 'compact',
  'segment.ms': String(10 * 60_000),
  'segment.bytes': String(64 * 1024 * 1024),
  'min.cleanable.dirty.ratio': '0.1',
  'delete.retention.ms': String(3600_000),
});

/** kafkajs's `ConfigResourceTypes.TOPIC` (not a named export of its CommonJS build under ESM). */
const TOPIC_RESOURCE = 2 as ConfigResourceTypes;
/** kafkajs's `ConfigSource.TOPIC_CONFIG`: a setting made on the topic itself. */
const TOPIC_CONFIG_SOURCE = 1;

/**
 * @internal Gives an existing changelog the settings of `wanted` it does not have on
 * its own (a topic created before they were chosen, or by hand): the settings made on
 * the topic are kept as they are (a user's choice wins), the missing ones are added.
 * kafkajs only has the non-incremental AlterConfigs, which replaces every topic setting:
 * the request therefore carries the topic's own settings too. Returns the names added.
 */
export async function completeChangelogConfig(
  admin: Admin,
  topic: string,
  wanted: Readonly<Record<string, string>>,
  logger: EventsLogger,
): Promise<string[]> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: TOPIC_RESOURCE, name: topic }],
  });
  const entries = resources[0]?.configEntries ?? [];
  const own = entries.filter((entry) => entry.configSource === TOPIC_CONFIG_SOURCE);
  const missing = Object.keys(wanted).filter((name) => !own.some((entry) => entry.configName === name));
  if (missing.length === 0) return [];
  if (own.some((entry) => entry.isSensitive)) {
    // Its value is not readable: altering would erase it. Leave the topic to its operator.
    logger.warn(
      { topic, missing },
      `checkpoints: changelog '${topic}' lacks ${missing.join(', ')} and has a sensitive setting this client cannot carry over; set them with kafka-configs --alter --add-config`,
    );
    return [];
  }
  const configEntries = [
    ...own.map((entry) => ({ name: entry.configName, value: entry.configValue })),
    ...missing.map((name) => ({ name, value: wanted[name] as string })),
  ];
  try {
    await admin.alterConfigs({
      validateOnly: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic, configEntries }],
    });
  } catch (error) {
    throw new StateError(
      'BACKLOT_EVENTS_TOPIC_SETUP',
      `cannot give changelog '${topic}' the settings ${missing.map((name) => `${name}=${wanted[name]}`).join(', ')}: ${error instanceof Error ? error.message : String(error)} (grant ALTER_CONFIGS on the topic, or set them with kafka-configs --alter --add-config)`,
      { cause: error, topic },
    );
  }
  logger.info({ topic, added: missing }, 'checkpoints: changelog settings completed (compaction keeps restores short)');
  return missing;
}
