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
  const groupsOf = (part: string): string[] => (part === '' ? [] : part.split(':').flatMap((g) => (g.includes('.') ? ['0', '0'] : [g])));
  const first = groupsOf(head);
  const last = tail === undefined ? [] : groupsOf(tail);
  const groups = [...first, ...Array<string>(8 - first.length - last.length).fill('0'), ...last];
  return `${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}
