export type { PrometheusRegistry } from '@backlot/metrics-core';
export {
  type CompatibilityLevel,
  type CompatibilityOptions,
  type CompatibilityReport,
  type CompatibilityViolation,
  checkCompatibility,
  formatViolations,
} from './catalog/compatibility/check.js';
export type { Direction as CompatibilityDirection } from './catalog/compatibility/json-schema-compare.js';
export type { CompatibilityRule } from './catalog/compatibility/rules.js';
export {
  type AnyEventEnvelope,
  defineEventCatalog,
  type EnvelopeOptions,
  type EventCatalog,
  type EventDefinition,
  type EventDefinitions,
  type EventEnvelope,
  type EventJsonSchema,
  type EventPayload,
  type EventPayloadInput,
  type EventVersionDefinition,
} from './catalog/define-catalog.js';
export { defineEvent, type NextVersion, type VersionedEvent } from './catalog/define-event.js';
export {
  type CatalogSchemas,
  exportSchemaSnapshot,
  formatSchemaSnapshot,
  parseSchemaSnapshot,
  type SchemaSnapshot,
  type SnapshotVersion,
} from './catalog/snapshot.js';
export {
  DEAD_LETTER_CHANNEL,
  type DeadLetterMessage,
  EMIT_CHANNEL,
  type EmitMessage,
  PIPELINE_DEAD_LETTER_CHANNEL,
  type PipelineDeadLetterMessage,
  PROCESS_CHANNEL,
  type ProcessMessage,
} from './diagnostics/channels.js';
export {
  CatalogError,
  ClosedError,
  EventEncodeError,
  type EventIssue,
  EventsError,
  type EventsErrorCode,
  EventsRefusedError,
  EventTooLargeError,
  EventVersionError,
  FlushTimeoutError,
  InvalidEventError,
  isCatalogError,
  isClosedError,
  isEventEncodeError,
  isEventsRefusedError,
  isEventTooLargeError,
  isEventVersionError,
  isFlushTimeoutError,
  isInvalidEventError,
  isSchemaSnapshotError,
  isSpoolLockedError,
  isTransportSendError,
  isUnknownEventError,
  isUpcastError,
  SchemaSnapshotError,
  SpoolLockedError,
  TransportSendError,
  UnknownEventError,
  UpcastError,
} from './errors.js';
export { registerPrometheusMetrics } from './metrics/prometheus/register.js';
export type { PartitionStateMetrics } from './pipeline/checkpointing.js';
export {
  createPipeline,
  type Pipeline,
  type PipelineMetrics,
  type PipelineOptions,
} from './pipeline/create-pipeline.js';
export type { Stream } from './pipeline/stream.js';
export { createEventProducer, type EventProducer, type ProducerMetrics } from './producer/create-producer.js';
export { DEAD_LETTER_HEADERS } from './producer/dead-letters.js';
export type {
  BatchOptions,
  DeadLetterTopicOptions,
  EmitOptions,
  EventProducerOptions,
  RetryOptions,
  SpoolOptions,
} from './producer/options.js';
export {
  type RegistryCompatibilityLevel,
  type RegistrySchema,
  type SchemaRegistryClient,
  type SchemaRegistryOptions,
  schemaRegistry,
} from './registry/client.js';
export { ENVELOPE_HEADERS } from './registry/envelope-headers.js';
export {
  isRegistryError,
  RegistryError,
  type RegistryErrorCode,
  type RegistryErrorDetails,
} from './registry/errors.js';
export type { PipelineRegistryOptions, ProducerRegistryOptions } from './registry/options.js';
export { EVENT_KEYWORD, VERSION_KEYWORD } from './registry/schema-source.js';
export type { SubjectStrategy } from './registry/subjects.js';
export { FRAME_HEADER_BYTES, frame, isFramed, MAGIC_BYTE, type Unframed, unframe } from './registry/wire-format.js';
export {
  type CassandraBatchClient,
  type CassandraColumnValue,
  type CassandraSinkOptions,
  cassandraSink,
} from './sinks/cassandra/cassandra-sink.js';
export {
  type ExactlyOnceTopicSinkOptions,
  exactlyOnceTopicSink,
} from './sinks/kafka/exactly-once-topic-sink.js';
export { type TopicSinkOptions, topicSink } from './sinks/kafka/topic-sink.js';
export { type KeyValueSinkOptions, type KeyValueTarget, keyValueSink } from './sinks/key-value/key-value-sink.js';
export { type ObjectStoreSinkOptions, objectStoreSink } from './sinks/object-store/object-store-sink.js';
export type { RecordPosition, Sink, TransactionalSink } from './sinks/types.js';
export { type DeadLetter, readDeadLetters } from './spool/dead-letter.js';
export { isStateError, StateError, type StateErrorCode } from './state/errors.js';
export { CHANGELOG_TOPIC_CONFIG } from './state/kafka/changelog-config.js';
export { type KafkaCheckpointsOptions, kafkaCheckpoints } from './state/kafka/kafka-checkpoints.js';
export type {
  CheckpointStore,
  PartitionCheckpoint,
  RestoredPartition,
  SourcePartition,
  StateEntry,
} from './state/types.js';
export { type EnsureTopicsOptions, ensureTopics, type TopicSpec } from './topics/ensure-topics.js';
export { EVENTS_TRACER_NAME } from './tracing/tracer.js';
export {
  type EmbeddedLogTransportOptions,
  embeddedLogTransport,
} from './transport/embedded-log/embedded-log-transport.js';
export { type KafkaTransportOptions, kafkaTransport } from './transport/kafka/kafka-transport.js';
export type { KafkaProducerOptions } from './transport/producer-options.js';
export type {
  ConsumedBatch,
  ConsumedMessage,
  OutgoingMessage,
  PartitionOffset,
  RejectedMessage,
  SendReport,
  TopicSettings,
  Transport,
  TransportConsumer,
  TransportProducer,
} from './transport/types.js';
export type { EventsLogger } from './util/logger.js';
export type { WindowOptions, WindowResult } from './window/window.js';
