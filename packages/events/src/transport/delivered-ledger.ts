import type { OutgoingMessage } from './types.js';

/** A message's identity by content: topic, key and value (an event's value carries its unique id). */
const identity = (topic: string, message: OutgoingMessage): string =>
  `${topic}\u0000${message.key ?? '\u0001'}\u0000${message.value.toString('latin1')}`;

/**
 * Messages a connection delivered while settling a request whose outcome was in doubt
 * (sent, then an outage before the answer), which the producer still counts as unsent and
 * will send again: each is claimed by the first message of the same content sent again, so
 * it is acknowledged without being written twice. Counted by content, since the producer
 * sends again copies (read back from its spool), not the same objects. Only used after a
 * failure: empty, it costs one check per send.
 * @internal
 */
export class DeliveredLedger {
  readonly #counts = new Map<string, number>();

  get size(): number {
    return this.#counts.size;
  }

  /** Notes `messages` of `topic` as delivered. */
  add(topic: string, messages: Iterable<OutgoingMessage>): void {
    for (const message of messages) {
      const id = identity(topic, message);
      this.#counts.set(id, (this.#counts.get(id) ?? 0) + 1);
    }
  }

  /** `messages` without those already delivered (each delivered one claimed once). */
  claim(topic: string, messages: readonly OutgoingMessage[]): readonly OutgoingMessage[] {
    if (this.#counts.size === 0) return messages;
    return messages.filter((message) => {
      const id = identity(topic, message);
      const count = this.#counts.get(id);
      if (count === undefined) return true;
      if (count === 1) this.#counts.delete(id);
      else this.#counts.set(id, count - 1);
      return false;
    });
  }
}
