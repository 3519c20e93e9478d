import { z } from 'zod';
import type { EventDefinitions } from '../catalog/types.js';
import type { SchemaRegistryClient } from './client.js';
import type { SubjectStrategy } from './subjects.js';

/**
 * Registry mode of a producer (`createEventProducer({ registry })`): each record is
 * sent in the Confluent wire format — magic byte 0, the 4-byte schema id of the
 * event's JSON Schema, the payload as JSON — with the envelope (id, name, version,
 * time, source, trace id) in Kafka headers (see `ENVELOPE_HEADERS`).
 */
export interface ProducerRegistryOptions {
  /** The registry, e.g. `schemaRegistry({ url: 'http://127.0.0.1:8081/apis/ccompat/v7' })` (required). */
  client: SchemaRegistryClient;
  /**
   * The event definitions whose payload schemas are registered as JSON Schema
   * (`z.toJSONSchema`). Default: the producer's catalogue, at the version it emits
   * (each event's latest). Give them only to register other definitions than the catalogue's.
   */
  schemas?: EventDefinitions | undefined;
  /** How subjects are named (default `record`: the event name; see {@link SubjectStrategy}). */
  subjects?: SubjectStrategy | undefined;
  /**
   * Register a schema the subject does not have yet (default `true`, as Confluent's serializers do).
   * With `false`, only schemas registered beforehand are used: the events of any other are dead-lettered.
   */
  autoRegister?: boolean | undefined;
}

/** Registry mode of a pipeline (`createPipeline({ registry })`): reads wire-format records as well as plain JSON ones. */
export interface PipelineRegistryOptions {
  /** The registry the records' schema ids refer to (required). */
  client: SchemaRegistryClient;
}

const isClient = (value: unknown) =>
  typeof (value as { schemaById?: unknown } | undefined)?.schemaById === 'function' &&
  typeof (value as { register?: unknown } | undefined)?.register === 'function';

const clientSchema = (field: string) =>
  z.custom<SchemaRegistryClient>(
    isClient,
    `${field} is required: a schemaRegistry({ url: 'http://127.0.0.1:8081/apis/ccompat/v7' })`,
  );

/** @internal zod schema of the producer's `registry` option. */
export const producerRegistrySchema = z.object(
  {
    client: clientSchema('registry.client'),
    schemas: z
      .record(
        z.string(),
        z.object({ version: z.number(), payload: z.unknown() }, { error: 'each must be { version, payload }' }),
        { error: 'registry.schemas must be the definitions object given to defineEventCatalog, or left out' },
      )
      .optional(),
    subjects: z
      .enum(['record', 'topic-record', 'topic'], {
        error: "registry.subjects must be 'record' (the event name), 'topic-record' or 'topic'",
      })
      .optional(),
    autoRegister: z.boolean({ error: 'registry.autoRegister must be true or false' }).optional(),
  },
  { error: 'registry must be { client: schemaRegistry({ url }) }' },
);

/** @internal zod schema of the pipeline's `registry` option. */
export const pipelineRegistrySchema = z.object(
  { client: clientSchema('registry.client') },
  { error: 'registry must be { client: schemaRegistry({ url }) }' },
);
