import { z } from 'zod';
import { optionsError } from '../util/logger.js';
import { badResponse, type RegistryCall, type RegistryHttpOptions, refused, registryRequest } from './http.js';

/** A schema as the registry holds it. */
export interface RegistrySchema {
  /** `JSON` for JSON Schema (what Backlot registers); `AVRO` and `PROTOBUF` are other producers'. */
  schemaType: 'JSON' | 'AVRO' | 'PROTOBUF';
  /** The schema document, as text. */
  schema: string;
}

/** The compatibility levels of the Confluent API. */
export type RegistryCompatibilityLevel =
  | 'NONE'
  | 'BACKWARD'
  | 'BACKWARD_TRANSITIVE'
  | 'FORWARD'
  | 'FORWARD_TRANSITIVE'
  | 'FULL'
  | 'FULL_TRANSITIVE';

const levels = [
  'NONE',
  'BACKWARD',
  'BACKWARD_TRANSITIVE',
  'FORWARD',
  'FORWARD_TRANSITIVE',
  'FULL',
  'FULL_TRANSITIVE',
] as const satisfies readonly RegistryCompatibilityLevel[];

/** Options of {@link schemaRegistry}. */
export interface SchemaRegistryOptions {
  /**
   * Base URL of a Confluent-compatible REST API (required), e.g.
   * `http://127.0.0.1:8081/apis/ccompat/v7` for Apicurio Registry 3, or a Confluent Schema Registry's root URL.
   */
  url: string;
  /** Deadline of every attempt of every call, the answer's body included, in ms (default 5000). */
  timeoutMs?: number | undefined;
  /** More attempts after one that failed with no answer, a timeout, 5xx, 429 or 408 (default 2; other answers are never retried). */
  retries?: number | undefined;
  /** First delay between attempts in ms, doubling up to 2 s, with jitter (default 100). */
  retryDelayMs?: number | undefined;
  /** Headers sent with every call, e.g. `{ authorization: 'Basic …' }`. */
  headers?: Record<string, string> | undefined;
}

/**
 * A client of a Confluent-compatible schema registry; see {@link schemaRegistry}.
 * Every call has a deadline and bounded retries; ids and schemas are cached, so that
 * after the first call for a schema (or id), the same call makes no HTTP request.
 */
export interface SchemaRegistryClient {
  /** The base URL, without a trailing slash. */
  readonly url: string;
  /**
   * Registers `schema` under `subject` (`POST /subjects/{subject}/versions`) unless it is there
   * already, and resolves with its global id. Cached by subject and schema text.
   * @throws {RegistryError} `…_REFUSED` when the registry refuses it (409: incompatible with the
   * subject's compatibility level; 422: not a valid schema), `…_UNREACHABLE` when it does not answer.
   */
  register(subject: string, schema: RegistrySchema): Promise<number>;
  /**
   * The id of `schema` registered under `subject` (`POST /subjects/{subject}`), without registering it.
   * Cached by subject and schema text.
   * @throws {RegistryError} `…_UNKNOWN_SCHEMA` when it is not registered there.
   */
  lookup(subject: string, schema: RegistrySchema): Promise<number>;
  /**
   * The schema with global id `id` (`GET /schemas/ids/{id}`). Cached by id (ids never change meaning).
   * @throws {RegistryError} `…_UNKNOWN_SCHEMA` when there is no such id.
   */
  schemaById(id: number): Promise<RegistrySchema>;
  /** Sets `subject`'s compatibility level (`PUT /config/{subject}`). */
  setCompatibility(subject: string, level: RegistryCompatibilityLevel): Promise<void>;
  /** `subject`'s compatibility level, or the registry's global one when the subject has none (`GET /config/{subject}`). */
  compatibility(subject: string): Promise<RegistryCompatibilityLevel>;
  /** Calls that went to the registry so far, each of up to `1 + retries` HTTP attempts (cache hits make none). */
  readonly requests: number;
}

const optionsSchema = z.object({
  url: z
    .string({
      error: "url is required: the registry's Confluent-compatible API, e.g. 'http://127.0.0.1:8081/apis/ccompat/v7'",
    })
    .url("url must be an absolute http(s) URL, e.g. 'http://127.0.0.1:8081/apis/ccompat/v7'")
    .refine((url) => /^https?:\/\//i.test(url), 'url must start with http:// or https://'),
  timeoutMs: z
    .number()
    .int('timeoutMs must be an integer')
    .positive('timeoutMs must be a positive number of ms')
    .optional(),
  retries: z
    .number()
    .int('retries must be an integer')
    .min(0, 'retries must be 0 or more')
    .max(10, 'retries must be at most 10')
    .optional(),
  retryDelayMs: z
    .number()
    .int('retryDelayMs must be an integer')
    .positive('retryDelayMs must be a positive number of ms')
    .optional(),
  headers: z.record(z.string(), z.string(), { error: 'headers must map header names to text values' }).optional(),
});

const idAnswer = z.object({ id: z.number().int().nonnegative() });
const schemaAnswer = z.object({
  schema: z.string(),
  schemaType: z.enum(['JSON', 'AVRO', 'PROTOBUF']).optional(),
});
const levelAnswer = z.object({ compatibilityLevel: z.enum(levels) });

const pathOf = (subject: string) => encodeURIComponent(subject);

/**
 * A client of a Confluent-compatible schema registry (Apicurio Registry's
 * `/apis/ccompat/v7`, Confluent Schema Registry, Karapace): register and look
 * up schemas, fetch them by id, read and set compatibility levels. Every call
 * has a deadline (`timeoutMs`) and is retried at most `retries` times, and only
 * when the registry did not answer or answered 5xx/429/408; errors are
 * {@link RegistryError}s naming the subject and status. Ids and schemas are
 * cached, and concurrent calls for the same one share a request.
 *
 * @example
 * ```ts
 * const registry = schemaRegistry({ url: 'http://127.0.0.1:8081/apis/ccompat/v7' });
 * const id = await registry.register('play.started', { schemaType: 'JSON', schema: '{"type":"object"}' });
 * const again = await registry.schemaById(id);
 * ```
 */
export function schemaRegistry(options: SchemaRegistryOptions): SchemaRegistryClient {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw optionsError('schemaRegistry', parsed.error);
  return new Client({
    baseUrl: options.url.replace(/\/+$/, ''),
    timeoutMs: options.timeoutMs ?? 5000,
    retries: options.retries ?? 2,
    initialDelayMs: options.retryDelayMs ?? 100,
    maxDelayMs: 2000,
    headers: options.headers ?? {},
  });
}

class Client implements SchemaRegistryClient {
  readonly #http: RegistryHttpOptions;
  /** Ids by `register|lookup`, subject and schema text; a promise, so concurrent callers share one request. */
  readonly #ids = new Map<string, Promise<number>>();
  readonly #schemas = new Map<number, Promise<RegistrySchema>>();
  #requests = 0;

  constructor(http: RegistryHttpOptions) {
    this.#http = http;
  }

  get url(): string {
    return this.#http.baseUrl;
  }

  get requests(): number {
    return this.#requests;
  }

  register(subject: string, schema: RegistrySchema): Promise<number> {
    return this.#id('register', subject, schema, {
      method: 'POST',
      path: `/subjects/${pathOf(subject)}/versions`,
      body: { schemaType: schema.schemaType, schema: schema.schema },
      subject,
      what: 'register a schema',
    });
  }

  lookup(subject: string, schema: RegistrySchema): Promise<number> {
    return this.#id('lookup', subject, schema, {
      method: 'POST',
      path: `/subjects/${pathOf(subject)}`,
      body: { schemaType: schema.schemaType, schema: schema.schema },
      subject,
      what: 'look up a schema',
    });
  }

  schemaById(id: number): Promise<RegistrySchema> {
    const cached = this.#schemas.get(id);
    if (cached) return cached;
    const call: RegistryCall = {
      method: 'GET',
      path: `/schemas/ids/${id}`,
      schemaId: id,
      what: `fetch schema id ${id}`,
    };
    const pending = this.#call(call).then((answer) => {
      if (answer.status !== 200) throw refused(this.#http, call, answer);
      const body = schemaAnswer.safeParse(answer.body);
      if (!body.success) throw badResponse(this.#http, call, answer);
      // The Confluent API leaves schemaType out for Avro.
      return { schemaType: body.data.schemaType ?? 'AVRO', schema: body.data.schema };
    });
    return this.#cache(this.#schemas, id, pending);
  }

  async setCompatibility(subject: string, level: RegistryCompatibilityLevel): Promise<void> {
    const call: RegistryCall = {
      method: 'PUT',
      path: `/config/${pathOf(subject)}`,
      body: { compatibility: level },
      subject,
      what: `set the compatibility level to ${level}`,
    };
    const answer = await this.#call(call);
    if (answer.status !== 200) throw refused(this.#http, call, answer);
  }

  async compatibility(subject: string): Promise<RegistryCompatibilityLevel> {
    const call: RegistryCall = {
      method: 'GET',
      path: `/config/${pathOf(subject)}?defaultToGlobal=true`,
      subject,
      what: 'read the compatibility level',
    };
    const answer = await this.#call(call);
    if (answer.status !== 200) throw refused(this.#http, call, answer);
    const body = levelAnswer.safeParse(answer.body);
    if (!body.success) throw badResponse(this.#http, call, answer);
    return body.data.compatibilityLevel;
  }

  #id(kind: 'register' | 'lookup', subject: string, schema: RegistrySchema, call: RegistryCall): Promise<number> {
    const key = `${kind}\u0000${subject}\u0000${schema.schemaType}\u0000${schema.schema}`;
    const cached = this.#ids.get(key);
    if (cached) return cached;
    const pending = this.#call(call).then((answer) => {
      if (answer.status !== 200) throw refused(this.#http, call, answer);
      const body = idAnswer.safeParse(answer.body);
      if (!body.success) throw badResponse(this.#http, call, answer);
      return body.data.id;
    });
    return this.#cache(this.#ids, key, pending);
  }

  /** Keeps `pending` for the next caller while it may succeed; a failure is not cached. */
  #cache<K, V>(map: Map<K, Promise<V>>, key: K, pending: Promise<V>): Promise<V> {
    map.set(key, pending);
    pending.catch(() => {
      if (map.get(key) === pending) map.delete(key);
    });
    return pending;
  }

  #call(call: RegistryCall) {
    this.#requests++;
    return registryRequest(this.#http, call);
  }
}
