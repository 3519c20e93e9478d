import { isIP } from 'node:net';
import { z } from 'zod';

const ms = (name: string, min = 1) =>
  z
    .number({ error: `${name} must be a number of milliseconds` })
    .int(`${name} must be a whole number of ms`)
    .min(min, `${name} must be at least ${min} ms`);
const positiveInt = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .int(`${name} must be a whole number`)
    .positive(`${name} must be > 0`);
const httpUrl = (name: string) =>
  z
    .url({ protocol: /^https?$/, error: `${name} must be an http(s) URL, e.g. 'http://127.0.0.1:8081'` })
    .refine((url) => !new URL(url).search && !new URL(url).hash, `${name} must not have a query string or fragment`);

/** An HTTP header name (RFC 9110 token): no spaces, CR, LF or other separators. */
const headerName = (name: string) =>
  z
    .string({ error: `${name} must be a header name` })
    .regex(/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/, `${name} must be a header name (RFC 9110 token: no spaces, CR or LF)`);
/** Text written into a header or a path: CR, LF and NUL would split it (response splitting, smuggling). */
const noCrLf = (name: string) =>
  z
    .string({ error: `${name} must be a string` })
    .refine(
      (value) => !/[\r\n\0]/.test(value),
      `${name} must not contain CR, LF or NUL (they would split the message)`,
    );

const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** A record of header names (checked, each named in the error) to values. */
const headerRecord = <V extends z.ZodType>(name: string, value: V) =>
  z.record(z.string(), value).superRefine((record, ctx) => {
    for (const key of Object.keys(record)) {
      if (!HEADER_NAME.test(key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `${name} must be header names (RFC 9110 token: no spaces, CR or LF)`,
        });
      }
    }
  });

const cidr = z.string().refine((value) => {
  const [address, bits, extra] = value.split('/');
  if (extra !== undefined || !address) return false;
  const family = isIP(address);
  if (family === 0) return false;
  if (bits === undefined) return true;
  const n = Number(bits);
  return Number.isInteger(n) && n >= 0 && n <= (family === 4 ? 32 : 128);
}, "must be an IP address or CIDR, e.g. '10.0.0.0/8' or '::1'");

const limitAlgorithm = z.strictObject({
  algorithm: z.enum(['vegas', 'gradient2', 'aimd'], { error: "algorithm must be 'vegas', 'gradient2' or 'aimd'" }),
  initialLimit: positiveInt('initialLimit').optional(),
  maxConcurrency: positiveInt('maxConcurrency').optional(),
});

/** Schema of one server of an origin: a URL, or `{ url, weight }`. */
const serverSchema = z.union([
  httpUrl('servers[]'),
  z.strictObject({ url: httpUrl('url'), weight: positiveInt('weight').default(1) }),
]);

/** Schema of an origin's TLS trust settings (for its `https://` servers). */
const originTlsSchema = z
  .strictObject({
    /** Path to a PEM file of the CA certificate(s) that sign the origin's certificates (replaces Node's default CAs). */
    caFile: z
      .string({ error: 'tls.caFile must be the path of a PEM file' })
      .min(1, 'tls.caFile must not be empty')
      .optional(),
    /** The same CA certificate(s) as PEM text, for configs built in code. */
    ca: z
      .string({ error: 'tls.ca must be PEM text' })
      .refine(
        (pem) => pem.includes('-----BEGIN CERTIFICATE-----'),
        'tls.ca must be PEM text (-----BEGIN CERTIFICATE-----…); give a path as tls.caFile',
      )
      .optional(),
    /**
     * The name sent as SNI and checked against the origin's certificate
     * (default: the host of the server URL). Never the client's `Host`.
     */
    servername: z
      .string({ error: 'tls.servername must be a DNS name' })
      .min(1, 'tls.servername must not be empty')
      .refine((name) => isIP(name) === 0, 'tls.servername must be a DNS name, not an IP address (SNI has no IPs)')
      .optional(),
    /** Verify the origin's certificate (default `true`); `false` is for tests only. */
    rejectUnauthorized: z.boolean({ error: 'tls.rejectUnauthorized must be true or false' }).default(true),
  })
  .refine((tls) => tls.ca === undefined || tls.caFile === undefined, {
    message: 'give tls.ca or tls.caFile, not both',
    path: ['caFile'],
  });

/**
 * Schema of one origin (`origins.<name>`): its servers, balancing, pools
 * (HTTP/2 and TLS trust for `https://` servers), resilience and health.
 */
export const originSchema = z
  .strictObject({
    servers: z.array(serverSchema).min(1, 'servers must list at least one server URL'),
    balancer: z
      .enum(['round-robin', 'weighted', 'least-outstanding'], {
        error: "balancer must be 'round-robin', 'weighted' or 'least-outstanding'",
      })
      .default('round-robin'),
    connections: positiveInt('connections').default(64),
    pipelining: z.number().int().min(1, 'pipelining must be at least 1').default(1),
    /**
     * Offer HTTP/2 to `https://` servers (ALPN `h2`, falling back to HTTP/1.1).
     * WebSocket upgrades to the origin always use HTTP/1.1.
     */
    allowH2: z.boolean({ error: 'allowH2 must be true or false' }).default(false),
    /** Trust settings for the origin's `https://` servers: CA, SNI name, verification. */
    tls: originTlsSchema.optional(),
    keepAliveTimeoutMs: ms('keepAliveTimeoutMs').default(4_000),
    connectTimeoutMs: ms('connectTimeoutMs').default(5_000),
    timeoutMs: ms('timeoutMs').default(10_000),
    /**
     * The deadline of one request through the origin's whole chain (every
     * step, yours included, every attempt and the time between them), from
     * its dispatch to the answer's head. Default: `timeoutMs` × `retry.maxAttempts` + 1 s,
     * so that each attempt's own timeout comes first.
     */
    deadlineMs: ms('deadlineMs').optional(),
    bodyTimeoutMs: ms('bodyTimeoutMs', 0).default(300_000),
    circuitBreaker: z
      .strictObject({
        enabled: z.boolean().default(true),
        requestVolumeThreshold: positiveInt('requestVolumeThreshold').default(20),
        errorThresholdPercentage: z.number().min(1).max(100, 'errorThresholdPercentage must be 1..100').default(50),
        sleepWindowMs: ms('sleepWindowMs').default(5_000),
      })
      .prefault({}),
    concurrencyLimit: z.union([z.literal(false), limitAlgorithm]).default(false),
    retry: z
      .strictObject({
        maxAttempts: z.number().int().min(1, 'retry.maxAttempts must be at least 1 (no retry)').max(5).default(2),
        bufferBodyBytes: z.number().int().min(0).default(65_536),
        budget: z
          .strictObject({
            ratio: z.number().min(0).max(1, 'ratio must be between 0 and 1').default(0.2),
            minRetriesPerSecond: z.number().min(0).default(10),
          })
          .prefault({}),
      })
      .prefault({}),
    healthCheck: z
      .strictObject({
        path: z.string().startsWith('/', "healthCheck.path must start with '/'"),
        intervalMs: ms('intervalMs', 100).default(5_000),
        timeoutMs: ms('timeoutMs').default(1_000),
        unhealthyThreshold: positiveInt('unhealthyThreshold').default(2),
        healthyThreshold: positiveInt('healthyThreshold').default(2),
      })
      .optional(),
    outlierDetection: z
      .strictObject({
        enabled: z.boolean().default(true),
        consecutiveErrors: positiveInt('consecutiveErrors').default(5),
        baseEjectionMs: ms('baseEjectionMs').default(30_000),
        maxEjectionPercent: z.number().min(0).max(100).default(50),
      })
      .prefault({}),
  })
  .superRefine((origin, ctx) => {
    if (origin.tls === undefined) return;
    const https = origin.servers.some((server) =>
      (typeof server === 'string' ? server : server.url).startsWith('https:'),
    );
    if (!https) {
      ctx.addIssue({
        code: 'custom',
        path: ['tls'],
        message: 'tls applies to https:// servers, and this origin has none',
      });
    }
  });

const headerMatcher = z.union([
  z.string(),
  z.strictObject({ regex: z.string() }),
  z.strictObject({ present: z.boolean() }),
]);

const splitSchema = z.strictObject({
  origin: z.string().min(1, 'origin must name an origin'),
  weight: z.number().min(0, 'weight must be >= 0'),
});

const surgicalSchema = z
  .strictObject({
    header: z
      .strictObject({ name: headerName('surgical header.name'), value: noCrLf('surgical header.value') })
      .optional(),
    cookie: z.strictObject({ name: z.string().min(1), value: z.string() }).optional(),
    origin: z.string().min(1, 'origin must name an origin'),
  })
  .refine((rule) => rule.header || rule.cookie, 'a surgical rule needs a header or a cookie to match');

const corsSchema = z.strictObject({
  type: z.literal('cors'),
  origins: z.array(noCrLf('cors.origins[]')).min(1, "origins must list allowed origins, or ['*']"),
  methods: z.array(headerName('cors.methods[]')).default(['GET', 'HEAD', 'PUT', 'PATCH', 'POST', 'DELETE']),
  headers: z.array(headerName('cors.headers[]')).default([]),
  exposeHeaders: z.array(headerName('cors.exposeHeaders[]')).default([]),
  credentials: z.boolean().default(false),
  maxAgeSeconds: z.number().int().min(0).default(600),
});

const jwtSchema = z
  .strictObject({
    type: z.literal('jwt'),
    secret: z.string().min(32, 'secret must be at least 32 characters (HS256)').optional(),
    publicKeyPem: z.string().optional(),
    jwksUrl: httpUrl('jwksUrl').optional(),
    algorithms: z.array(z.string()).optional(),
    issuer: z.string().optional(),
    audience: z.string().optional(),
    optional: z.boolean().default(false),
  })
  .refine(
    (jwt) => [jwt.secret, jwt.publicKeyPem, jwt.jwksUrl].filter(Boolean).length === 1,
    'jwt needs exactly one of secret, publicKeyPem or jwksUrl',
  );

const filterSchema = z.discriminatedUnion(
  'type',
  [
    z.strictObject({ type: z.literal('requestId'), header: headerName('header').default('x-request-id') }),
    z.strictObject({
      type: z.literal('headers'),
      request: z
        .strictObject({
          set: headerRecord('request.set keys', noCrLf('request.set values')).default({}),
          remove: z.array(headerName('request.remove[]')).default([]),
        })
        .prefault({}),
      response: z
        .strictObject({
          set: headerRecord('response.set keys', noCrLf('response.set values')).default({}),
          remove: z.array(headerName('response.remove[]')).default([]),
        })
        .prefault({}),
    }),
    corsSchema,
    jwtSchema,
    z.strictObject({
      type: z.literal('apiKey'),
      header: headerName('header').default('x-api-key'),
      keys: z.array(z.string().min(16, 'API keys must be at least 16 characters')).min(1, 'keys must not be empty'),
    }),
    z.strictObject({
      type: z.literal('rateLimit'),
      key: z
        .enum(['ip', 'apiKey', 'jwtSubject'], { error: "key must be 'ip', 'apiKey' or 'jwtSubject'" })
        .default('ip'),
      capacity: positiveInt('capacity'),
      refillPerSecond: z.number().positive('refillPerSecond must be > 0'),
      apiKeyHeader: headerName('apiKeyHeader').default('x-api-key'),
      maxKeys: positiveInt('maxKeys').default(100_000),
      /** A store given in `createGateway(config, { rateLimitStores })`, e.g. a Redis store shared by a fleet (default: in-process). */
      store: z
        .string({ error: "store must name a store given in createGateway's rateLimitStores option, e.g. 'fleet'" })
        .regex(/^[\w.-]+$/, 'store names use letters, digits, _ . -')
        .optional(),
      /** When the store fails or misses storeTimeoutMs: let requests pass, or answer 503. */
      onStoreError: z
        .enum(['failOpen', 'failClosed'], {
          error: "onStoreError must be 'failOpen' (let requests pass) or 'failClosed' (answer 503)",
        })
        .default('failOpen'),
      /** Deadline of one call to the store. */
      storeTimeoutMs: ms('storeTimeoutMs').default(50),
      /** After a failed store call, how long the fallback applies at once before the store is asked again. */
      storeRetryMs: ms('storeRetryMs').default(1_000),
    }),
    z.strictObject({ type: z.literal('bodyLimit'), maxBytes: z.number().int().min(0) }),
    z.strictObject({
      type: z.literal('static'),
      status: z.number().int().min(200).max(599).default(200),
      headers: headerRecord('headers keys', noCrLf('headers values')).default({}),
      body: z.string().default(''),
    }),
  ],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? "filter type must be one of 'requestId', 'headers', 'cors', 'jwt', 'apiKey', 'rateLimit', 'bodyLimit', 'static'"
        : undefined,
  },
);

export const routeSchema = z
  .strictObject({
    id: z.string({ error: 'id is required: a unique name for the route' }).min(1, 'id must not be empty'),
    pathPrefix: z
      .string({ error: "pathPrefix must be a string, e.g. '/api'" })
      .startsWith('/', "pathPrefix must start with '/', e.g. '/api'")
      .optional(),
    path: z
      .string({ error: "path must be a string, e.g. '/titles/:id'" })
      .startsWith('/', "path must start with '/', e.g. '/titles/:id'")
      .optional(),
    host: z.string().min(1).optional(),
    methods: z.array(z.string().regex(/^[A-Z]+$/, 'methods must be upper-case, e.g. GET')).optional(),
    headers: headerRecord('headers keys', headerMatcher).optional(),
    priority: z.number().int().default(0),
    origin: z.string().min(1, 'origin must name an origin or be an http(s) URL').optional(),
    splits: z.array(splitSchema).min(1, 'splits must not be empty').optional(),
    surgical: z.array(surgicalSchema).optional(),
    stripPrefix: z.boolean().default(false),
    rewrite: z
      .strictObject({
        prefix: noCrLf('rewrite.prefix')
          .pipe(z.string().startsWith('/', "rewrite.prefix must start with '/'"))
          .optional(),
        regex: z.string().optional(),
        replacement: noCrLf('rewrite.replacement').optional(),
      })
      .refine((r) => (r.regex === undefined) === (r.replacement === undefined), 'rewrite.regex needs a replacement')
      .optional(),
    filters: z.array(filterSchema).default([]),
    timeoutMs: ms('timeoutMs').optional(),
    idleTimeoutMs: ms('idleTimeoutMs', 0).optional(),
    retry: z.boolean().default(true),
    bufferResponse: z.strictObject({ maxBytes: positiveInt('maxBytes') }).optional(),
    /**
     * `Upgrade:` tokens this route tunnels (lower-case). `h2c` is never
     * tunnelled: HTTP/2 inside the tunnel would skip routing and filters.
     */
    upgrades: z
      .array(
        z
          .string()
          .regex(/^[!#$%&'*+\-.^_`|~0-9a-z]+$/, "upgrades lists lower-case protocol tokens, e.g. ['websocket']")
          .refine(
            (token) => token !== 'h2c' && token !== 'h2',
            'h2c is never tunnelled (HTTP/2 inside the tunnel would skip routing and filters); remove it',
          ),
      )
      .default(['websocket']),
  })
  .superRefine((route, ctx) => {
    if (route.pathPrefix !== undefined && route.path !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['path'], message: 'give either path or pathPrefix, not both' });
    }
    if (route.pathPrefix === undefined && route.path === undefined) {
      ctx.addIssue({ code: 'custom', path: ['pathPrefix'], message: "pathPrefix (or path) is required, e.g. '/api'" });
    }
    const hasStatic = route.filters.some((f) => f.type === 'static');
    if (!hasStatic && route.origin === undefined && route.splits === undefined) {
      ctx.addIssue({ code: 'custom', path: ['origin'], message: 'origin is required (or splits, or a static filter)' });
    }
    if (route.rewrite?.regex !== undefined) {
      try {
        new RegExp(route.rewrite.regex);
      } catch {
        ctx.addIssue({ code: 'custom', path: ['rewrite', 'regex'], message: 'rewrite.regex is not a valid RegExp' });
      }
    }
  });

export const gatewayConfigSchema = z
  .strictObject({
    server: z
      .strictObject({
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(8080),
        headersTimeoutMs: ms('headersTimeoutMs').default(10_000),
        requestTimeoutMs: ms('requestTimeoutMs', 0).default(300_000),
        bodyIdleTimeoutMs: ms('bodyIdleTimeoutMs', 0).default(30_000),
        allowTrace: z.boolean({ error: 'allowTrace must be true or false' }).default(false),
        strictPaths: z
          .enum(['protected', 'all', 'off'], { error: "strictPaths must be 'protected', 'all' or 'off'" })
          .default('protected'),
        underscoreHeaders: z
          .enum(['drop', 'forward'], { error: "underscoreHeaders must be 'drop' or 'forward'" })
          .default('drop'),
        keepAliveTimeoutMs: ms('keepAliveTimeoutMs').default(5_000),
        maxHeaderSize: z.number().int().min(1024).max(1_048_576).default(16_384),
        maxBodyBytes: z.number().int().min(0).optional(),
        shutdownTimeoutMs: ms('shutdownTimeoutMs').default(10_000),
        tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
        http2: z.boolean().default(false),
      })
      .prefault({}),
    trustedProxies: z
      .strictObject({ cidrs: z.array(cidr).default([]), hops: z.number().int().min(0).default(0) })
      .prefault({}),
    origins: z
      .record(z.string().regex(/^[\w.-]+$/, 'origin names use letters, digits, _ . -'), originSchema)
      .default({}),
    routes: z
      .array(routeSchema, { error: 'routes is required: an array of { id, pathPrefix, origin }' })
      .min(1, 'routes must contain at least one route'),
    filters: z.array(filterSchema).default([]),
    defaults: z
      .strictObject({
        timeoutMs: ms('timeoutMs').default(10_000),
        connections: positiveInt('connections').default(64),
      })
      .prefault({}),
    concurrencyLimit: z.union([z.literal(false), limitAlgorithm]).default(false),
    accessLog: z
      .strictObject({
        sampleRate: z.number().min(0).max(1, 'sampleRate must be between 0 and 1').default(1),
        errors: z.boolean().default(true),
      })
      .prefault({}),
    admin: z
      .strictObject({
        enabled: z.boolean().default(false),
        host: z.string().default('127.0.0.1'),
        port: z.number().int().min(0).max(65_535).default(9901),
        token: z.string().min(16, 'admin.token must be at least 16 characters').optional(),
      })
      .prefault({}),
  })
  .superRefine((config, ctx) => {
    const ids = new Set<string>();
    config.routes.forEach((route, index) => {
      if (ids.has(route.id)) {
        ctx.addIssue({ code: 'custom', path: ['routes', index, 'id'], message: `duplicate route id '${route.id}'` });
      }
      ids.add(route.id);
      const names = [
        ...(route.origin ? [[route.origin, ['origin']] as const] : []),
        ...(route.splits ?? []).map((s, i) => [s.origin, ['splits', i, 'origin']] as const),
        ...(route.surgical ?? []).map((s, i) => [s.origin, ['surgical', i, 'origin']] as const),
      ];
      for (const [name, path] of names) {
        if (!/^https?:\/\//.test(name) && !(name in config.origins)) {
          ctx.addIssue({
            code: 'custom',
            path: ['routes', index, ...path],
            message: `unknown origin '${name}': define it under origins, or use an http(s) URL`,
          });
        }
      }
    });
    if (config.admin.enabled && config.admin.token === undefined && !isLoopback(config.admin.host)) {
      ctx.addIssue({
        code: 'custom',
        path: ['admin', 'token'],
        message: 'admin.token is required when the admin listener is not on a loopback address',
      });
    }
  });

function isLoopback(host: string): boolean {
  return host === '127.0.0.1' || host === '::1' || host === 'localhost';
}

/** A gateway config as written (in JSON or code): every field but `routes` is optional. */
export type GatewayConfigInput = z.input<typeof gatewayConfigSchema>;
/** A validated gateway config with every default filled in. */
export type GatewayConfig = z.output<typeof gatewayConfigSchema>;
/** A route as written. */
export type RouteConfigInput = z.input<typeof routeSchema>;
/** A validated route. */
export type RouteConfig = z.output<typeof routeSchema>;
/** An origin as written. */
export type OriginConfigInput = z.input<typeof originSchema>;
/** A validated origin. */
export type OriginConfig = z.output<typeof originSchema>;
/** A built-in filter as written in config. */
export type FilterConfigInput = z.input<typeof filterSchema>;
/** A validated built-in filter config. */
export type FilterConfig = z.output<typeof filterSchema>;
