import type { TopicSettings } from './types.js';

/** The Kafka topic configuration of `spec` (`retention.ms`, `max.message.bytes`). @internal */
export function topicConfigs(spec: TopicSettings): Record<string, string> {
  return {
    'retention.ms': String(spec.retentionMs),
    'max.message.bytes': String(spec.maxMessageBytes),
  };
}
