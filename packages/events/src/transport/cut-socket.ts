import type { Socket } from 'node:net';

/**
 * @internal Cuts a client's socket so that nothing it still holds reaches the broker after
 * its producer closed: a TCP reset (RST) makes the kernel drop what it has not sent yet, where
 * a plain close would still deliver it, after `close()` returned, on top of what the spool
 * holds for the next process. With `error`, the socket also emits it (a client that fails its
 * queued requests on `error`, as kafkajs does). A socket that is not plain TCP (TLS) is
 * destroyed instead: what its kernel buffer holds may still go out.
 */
export function cutSocket(socket: Socket, error?: Error): void {
  if (socket.destroyed) return;
  // Still connecting: nothing has reached the kernel yet, so a plain destroy drops it all. A reset
  // would wait for the connection and only then cut it, after the client had been told of the
  // error: kafkajs would take the late 'connect' for a live connection and keep its timers forever.
  if (socket.connecting) {
    socket.destroy(error);
    return;
  }
  try {
    socket.resetAndDestroy();
  } catch {
    socket.destroy(error);
    return;
  }
  if (error) socket.emit('error', error);
}
