import type { Admin, ConfigResourceTypes } from 'kafkajs';
import type { EventsLogger } from '../../util/logger.js';

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
 * the request therefore carries the topic's own settings too. A broker that refuses
 * (no DESCRIBE_CONFIGS or ALTER_CONFIGS permission) is logged with the command that
 * sets them, and the pipeline starts anyway: restores then read more, nothing is lost.
 * Returns the names added.
 */
export async function completeChangelogConfig(
  admin: Admin,
  topic: string,
  wanted: Readonly<Record<string, string>>,
  logger: EventsLogger,
): Promise<string[]> {
  const command = (names: readonly string[]) =>
    `kafka-configs --alter --entity-type topics --entity-name ${topic} --add-config ${names.map((name) => `${name}=${wanted[name]}`).join(',')}`;
  let own: { configName: string; configValue: string; isSensitive: boolean }[];
  try {
    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [{ type: TOPIC_RESOURCE, name: topic }],
    });
    own = (resources[0]?.configEntries ?? []).filter((entry) => entry.configSource === TOPIC_CONFIG_SOURCE);
  } catch (error) {
    logger.warn(
      { err: error, topic },
      `checkpoints: cannot read the settings of changelog '${topic}'; restores read every update until it has ${command(Object.keys(wanted))}`,
    );
    return [];
  }
  const missing = Object.keys(wanted).filter((name) => !own.some((entry) => entry.configName === name));
  if (missing.length === 0) return [];
  if (own.some((entry) => entry.isSensitive)) {
    // Its value is not readable: altering would erase it. Leave the topic to its operator.
    logger.warn(
      { topic, missing },
      `checkpoints: changelog '${topic}' has a sensitive setting this client cannot carry over; set the missing ones with ${command(missing)}`,
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
    logger.warn(
      { err: error, topic, missing },
      `checkpoints: the broker refused settings of changelog '${topic}' (grant ALTER_CONFIGS on it); restores read every update until it has ${command(missing)}`,
    );
    return [];
  }
  logger.info({ topic, added: missing }, 'checkpoints: changelog settings completed (compaction keeps restores short)');
  return missing;
}
