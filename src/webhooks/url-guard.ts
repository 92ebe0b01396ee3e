import dns from 'node:dns';
import net from 'node:net';

/**
 * Where a webhook may not go (SSRF): loopback, private, carrier-grade NAT, link-local (cloud
 * metadata at 169.254.169.254), unspecified, documentation, benchmarking, multicast and reserved
 * ranges, in IPv4 and IPv6.
 */
const BLOCKED = new net.BlockList();
for (const [prefix, bits] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.88.99.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const) {
  BLOCKED.addSubnet(prefix, bits, 'ipv4');
}
for (const [prefix, bits] of [
  ['::', 128],
  ['::1', 128],
  ['64:ff9b::', 96],
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001::', 32],
  ['2001:db8::', 32],
  ['2002::', 16],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const) {
  BLOCKED.addSubnet(prefix, bits, 'ipv6');
}

/** True for an address a webhook may be sent to. IPv4-mapped IPv6 (`::ffff:127.0.0.1`) is judged as IPv4. */
export function isPublicAddress(address: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped?.[1]) return isPublicAddress(mapped[1]);
  const family = net.isIP(address);
  if (family === 4) return !BLOCKED.check(address, 'ipv4');
  if (family === 6) {
    // ::ffff:7f00:1 is the hex spelling of a mapped IPv4 address.
    if (/^::ffff:[0-9a-f]{1,4}:[0-9a-f]{1,4}$/i.test(address)) return false;
    return !BLOCKED.check(address, 'ipv6');
  }
  return false;
}

export interface UrlCheckOptions {
  /** The sandbox (`TOPUP_SANDBOX=1`) lets webhooks reach this machine and private networks. */
  allowPrivate: boolean;
  lookup?: (hostname: string) => Promise<string[]>;
}

const LOOKUP_TIMEOUT_MS = 3_000;

async function lookupAll(hostname: string): Promise<string[]> {
  const answer = dns.promises.lookup(hostname, { all: true, verbatim: true }).then((list) => list.map((a) => a.address));
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error('lookup timed out')), LOOKUP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hostOf(url: URL): string {
  // URL keeps IPv6 literals in brackets.
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/**
 * Why a webhook target URL is refused, or null when it is acceptable: http(s) only, no
 * credentials in it, and (outside the sandbox) every address its host resolves to public.
 */
export async function refuseWebhookUrl(raw: string, options: UrlCheckOptions): Promise<string | null> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'is not a valid URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'must be an http or https URL';
  if (url.username || url.password) return 'must not contain credentials';
  const host = hostOf(url);
  if (!host) return 'must name a host';
  if (options.allowPrivate) return null;
  if (net.isIP(host)) return isPublicAddress(host) ? null : 'must not point to a loopback, private or link-local address';
  let addresses: string[];
  try {
    addresses = await (options.lookup ?? lookupAll)(host);
  } catch {
    return 'host name does not resolve';
  }
  if (addresses.length === 0) return 'host name does not resolve';
  if (addresses.some((a) => !isPublicAddress(a))) return 'resolves to a loopback, private or link-local address';
  return null;
}

/**
 * A `lookup` for http.request that refuses non-public answers at connect time, so a host name
 * that resolved to a public address when the endpoint was created cannot be re-pointed at the
 * internal network later (DNS rebinding).
 */
export function publicOnlyLookup(
  hostname: string,
  options: dns.LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void,
): void {
  dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const list = addresses as dns.LookupAddress[];
    const bad = list.find((a) => !isPublicAddress(a.address));
    if (bad || list.length === 0) {
      const refusal: NodeJS.ErrnoException = new Error(`refused: ${hostname} resolves to a non-public address`);
      refusal.code = 'EADDRNOTPUBLIC';
      return callback(refusal, '');
    }
    if (options.all) return callback(null, list);
    const first = list[0] as dns.LookupAddress;
    return callback(null, first.address, first.family);
  });
}
