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
  type EventIssue,
  EventsError,
  type EventsErrorCode,
  InvalidEventError,
  isInvalidEventError,
  isUnknownEventError,
  UnknownEventError,
} from './errors.js';
