/**
 * The part of an ioredis client the Redis store uses, so that the package's
 * types do not depend on ioredis (an optional peer). An ioredis `Redis`
 * instance satisfies it.
 */
export interface RedisClientLike {
  /** ioredis's connection status: `ready` when commands are answered. */
  readonly status: string;
  /** Registers a Lua script as a command (sent with EVALSHA, falling back to EVAL once). */
  defineCommand(name: string, definition: { numberOfKeys: number; lua: string }): void;
  /** Closes the connection after the replies in flight. */
  quit(): Promise<unknown>;
  /** Closes the connection now. */
  disconnect(): void;
  /** Connection events (`ready`, `error`, `end`, …). */
  on(event: string, listener: (...args: unknown[]) => void): unknown;
  /** Removes a listener added with `on`. */
  off(event: string, listener: (...args: unknown[]) => void): unknown;
}
