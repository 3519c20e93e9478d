import type { TopicSpec } from './types.js';

/** The Kafka topic configuration of `spec` (`retention.ms`, `max.message.bytes`). @internal */
export function topicConfigs(spec: TopicSpec): Record<string, string> {
  return {
    'retention.ms': String(spec.retentionMs),
    'max.message.bytes': String(spec.maxMessageBytes),
  };
}
