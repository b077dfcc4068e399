/**
 * The address a client's budgets are kept under (the rate limit, the refusal budget): an IPv4 address as it is, an
 * IPv4-mapped IPv6 address as its IPv4 one, and any other IPv6 address by its /64, the block one host is given, so
 * that rotating addresses inside it buys no new budget.
 */
import { isIPv6 } from 'node:net';

/**
 * The address a budget belongs to: an IPv6 client by its /64 (one host or LAN is given a whole /64 and can rotate
 * through it), an IPv4-mapped one as IPv4, anything else (IPv4, `kafka:<topic>`) as it is.
 */
export function budgetAddress(clientAddress: string): string {
  const address = clientAddress.toLowerCase().replace(/%.*$/, '');
  if (!isIPv6(address)) return clientAddress;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (mapped) return mapped[1]!;
  const [head = '', tail] = address.split('::');
  const groupsOf = (part: string): string[] =>
    part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g]));
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  const groups = [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return `${groups
    .slice(0, 4)
    .map((g) => parseInt(g, 16).toString(16))
    .join(':')}::/64`;
}

/**
 * Sockets open at once per client address (by budgetAddress), beside the server's global cap: one client holding
 * idle sockets cannot take every place. The proxies TRUST_PROXY names carry many clients and are exempt.
 */
export class ConnectionsPerAddress {
  private readonly open = new Map<string, number>();

  constructor(
    private readonly perAddress: number,
    private readonly exempt: (address: string) => boolean = () => false,
  ) {}

  /** Whether a new socket from `address` may stay; if so it is counted until `release`. */
  admit(address: string): { admitted: boolean; release: () => void } {
    if (this.exempt(address)) return { admitted: true, release: () => undefined };
    const key = budgetAddress(address);
    const count = this.open.get(key) ?? 0;
    if (count >= this.perAddress) return { admitted: false, release: () => undefined };
    this.open.set(key, count + 1);
    let released = false;
    return {
      admitted: true,
      release: () => {
        if (released) return;
        released = true;
        const left = (this.open.get(key) ?? 1) - 1;
        if (left <= 0) this.open.delete(key);
        else this.open.set(key, left);
      },
    };
  }
}
