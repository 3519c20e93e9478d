import * as net from 'node:net';
import * as tls from 'node:tls';
import type { ISocketFactory } from 'kafkajs';
import { cutSocket } from '../cut-socket.js';

/** kafkajs's own keep-alive delay for its sockets, in ms. */
const KEEP_ALIVE_DELAY_MS = 60_000;

/** kafkajs's default socket factory (plain TCP, or TLS when `ssl` is set). */
const defaultFactory: ISocketFactory = ({ host, port, ssl, onConnect }) => {
  const socket = ssl
    ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }), ...ssl }, onConnect)
    : net.connect({ host, port }, onConnect);
  socket.setKeepAlive(true, KEEP_ALIVE_DELAY_MS);
  return socket;
};

/**
 * A kafkajs socket factory that keeps the sockets it opened, so that a closing producer
 * can cut them. kafkajs's `disconnect()` first waits for the requests queued on a
 * connection, and writes them as the in-flight one completes or times out: a request
 * queued during an outage would reach the broker after `close()` returned (and after its
 * events were put in the spool for the next process). Cutting the sockets (a TCP reset, so
 * the kernel drops what it has not sent either) stops that.
 * @internal
 */
export function trackedSockets(base: ISocketFactory = defaultFactory): {
  factory: ISocketFactory;
  /**
   * Destroys every socket still open (one kafkajs already ended quietly, one it still holds
   * requests for with an error, on which kafkajs fails what was queued there), and opens no more.
   */
  destroyAll(): void;
} {
  const open = new Set<net.Socket>();
  let closed = false;
  return {
    factory(args) {
      // kafkajs's own retry would otherwise reconnect and send what was cut.
      if (closed) throw new Error('the producer is closed');
      const socket = base(args);
      open.add(socket);
      socket.once('close', () => open.delete(socket));
      return socket;
    },
    destroyAll() {
      closed = true;
      for (const socket of open) {
        if (socket.writableEnded) socket.destroy();
        else cutSocket(socket, new Error('closed by its producer with requests still queued; they are not sent'));
      }
      open.clear();
    },
  };
}
