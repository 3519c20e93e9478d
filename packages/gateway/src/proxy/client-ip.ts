import { BlockList, isIP } from 'node:net';

/** Who the client is, after discarding forwarding headers from untrusted hops. */
export interface ClientAddress {
  /** The client IP the gateway trusts. */
  clientIp: string;
  /** `X-Forwarded-For` to send upstream. */
  chain: string;
  /** Whether the immediate peer is a trusted proxy (its `X-Forwarded-Proto/-Host` are kept). */
  trustedPeer: boolean;
}

/** Strips the IPv4-mapped IPv6 prefix (`::ffff:127.0.0.1` → `127.0.0.1`). */
export function plainIp(address: string | undefined): string {
  if (!address) return '';
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

/**
 * Envoy's model of a trustworthy client IP: `X-Forwarded-For` is believed
 * only from trusted proxies, given as CIDRs (walk the chain from the right,
 * skipping trusted addresses) or as a number of trusted hops in front of the
 * gateway. From anyone else it is replaced by the peer address, so a spoofed
 * value never reaches an origin as the client IP.
 */
export class TrustedProxies {
  readonly #list = new BlockList();
  readonly #hasCidrs: boolean;
  readonly #hops: number;

  constructor(cidrs: readonly string[], hops: number) {
    for (const entry of cidrs) {
      const [address, bits] = entry.split('/') as [string, string | undefined];
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.#list.addAddress(address, family);
      else this.#list.addSubnet(address, Number(bits), family);
    }
    this.#hasCidrs = cidrs.length > 0;
    this.#hops = hops;
  }

  #trusted(ip: string): boolean {
    const family = isIP(ip);
    return family !== 0 && this.#list.check(ip, family === 6 ? 'ipv6' : 'ipv4');
  }

  /** Resolves the client of a request from `peer` carrying `xff`. */
  resolve(peerAddress: string | undefined, xff: string | string[] | undefined): ClientAddress {
    const peer = plainIp(peerAddress);
    if (xff === undefined || (!this.#hasCidrs && this.#hops === 0)) {
      return { clientIp: peer, chain: peer, trustedPeer: false };
    }
    if (this.#hops > 0) {
      const list = parseList(xff);
      const clientIp = list[list.length - this.#hops] ?? list[0] ?? peer;
      return { clientIp, chain: [...list, peer].join(', '), trustedPeer: true };
    }
    if (!this.#trusted(peer)) return { clientIp: peer, chain: peer, trustedPeer: false };
    const list = parseList(xff);
    let clientIp = peer;
    for (let i = list.length - 1; i >= 0; i--) {
      const ip = list[i] as string;
      clientIp = ip;
      if (!this.#trusted(ip)) break;
    }
    return { clientIp, chain: [...list, peer].join(', '), trustedPeer: true };
  }
}

function parseList(xff: string | string[]): string[] {
  const out: string[] = [];
  for (const part of (Array.isArray(xff) ? xff.join(',') : xff).split(',')) {
    const ip = plainIp(part.trim());
    if (isIP(ip)) out.push(ip);
  }
  return out;
}
