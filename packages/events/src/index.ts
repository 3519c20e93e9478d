export {
  type AnyEventEnvelope,
  defineEventCatalog,
  type EnvelopeOptions,
  type EventCatalog,
  type EventDefinition,
  type EventDefinitions,
  type EventEnvelope,
  type EventPayload,
  type EventPayloadInput,
} from './catalog/define-catalog.js';
export {
  CatalogError,
  ClosedError,
  EventEncodeError,
  type EventIssue,
  EventsError,
  type EventsErrorCode,
  EventTooLargeError,
  FlushTimeoutError,
  InvalidEventError,
  isCatalogError,
  isClosedError,
  isEventEncodeError,
  isEventTooLargeError,
  isFlushTimeoutError,
  isInvalidEventError,
  isSpoolLockedError,
  isTransportSendError,
  isUnknownEventError,
  SpoolLockedError,
  TransportSendError,
  UnknownEventError,
} from './errors.js';
export {
  createPipeline,
  type Pipeline,
  type PipelineMetrics,
  type PipelineOptions,
} from './pipeline/create-pipeline.js';
export type { Stream } from './pipeline/stream.js';
export { createEventProducer, type EventProducer, type ProducerMetrics } from './producer/create-producer.js';
export type {
  BatchOptions,
  EmitOptions,
  EventProducerOptions,
  RetryOptions,
  SpoolOptions,
} from './producer/options.js';
export {
  type CassandraBatchClient,
  type CassandraColumnValue,
  type CassandraSinkOptions,
  cassandraSink,
} from './sinks/cassandra/cassandra-sink.js';
export { type TopicSinkOptions, topicSink } from './sinks/kafka/topic-sink.js';
export { type KeyValueSinkOptions, type KeyValueTarget, keyValueSink } from './sinks/key-value/key-value-sink.js';
export { type ObjectStoreSinkOptions, objectStoreSink } from './sinks/object-store/object-store-sink.js';
export type { RecordPosition, Sink } from './sinks/types.js';
export { type DeadLetter, readDeadLetters } from './spool/dead-letter.js';
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
  Transport,
  TransportConsumer,
  TransportProducer,
} from './transport/types.js';
export type { EventsLogger } from './util/logger.js';
export type { WindowOptions, WindowResult } from './window/window.js';
