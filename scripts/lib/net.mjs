// @ts-check
// IPv4 addresses, CIDRs and ranges, as plain unsigned 32-bit numbers.
//
// The runbook only deals in IPv4 (the article's clusters are single-stack), so
// IPv6 input is recognised only to say plainly that it is IPv6. Parse errors are
// thrown as NetError whose message starts with the quoted input and reads as a
// sentence, so config.mjs can put it after "VARIABLE: ".
import { isIP } from 'node:net';

/** An inclusive range of IPv4 addresses, as unsigned 32-bit numbers. */
/** @typedef {{ start: number, end: number }} IPv4Range */

/**
 * A parsed IPv4 CIDR.
 * @typedef {object} IPv4Cidr
 * @property {number} address  the address as written (may have host bits set when allowed)
 * @property {number} prefix   the prefix length, 0–32
 * @property {number} network  the network address (host bits cleared)
 * @property {number} last     the last address of the network (broadcast)
 */

export class NetError extends Error {
  /**
   * @param {string} message
   * @param {string} [suggestion] a corrected value, when one is obvious
   */
  constructor(message, suggestion) {
    super(message);
    this.name = 'NetError';
    /** @type {string | undefined} */
    this.suggestion = suggestion;
  }
}

/** @param {string} text */
const q = (text) => JSON.stringify(text);

/** An IPv6 literal without brackets and zone, or null. @param {string} text */
function bareIPv6(text) {
  let s = text;
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const zone = s.indexOf('%');
  if (zone >= 0) s = s.slice(0, zone);
  return isIP(s) === 6 ? s : null;
}

/**
 * Parses an IPv6 address (optionally in brackets, with a zone) into 8 groups, or
 * null. Node's net.isIP decides what is valid; this only spells out the groups.
 * @param {string} text
 * @returns {number[] | null}
 */
export function parseIPv6(text) {
  const s = bareIPv6(text);
  if (s === null) return null;
  /** @param {string} part @returns {number[]} */
  const groups = (part) => part.split(':').filter((g) => g !== '').flatMap((g) => {
    const v4 = g.includes('.') ? tryIPv4(g) ?? 0 : null; // a dotted IPv4 tail is the last two groups
    return v4 === null ? [parseInt(g, 16)] : [v4 >>> 16, v4 & 0xffff];
  });
  const [head, rest = ''] = s.split('::');
  const h = groups(head);
  const r = groups(rest);
  return [...h, ...new Array(8 - h.length - r.length).fill(0), ...r];
}

/**
 * True when the text is an IPv6 address literal (optionally in brackets, with a zone).
 * @param {string} text
 */
export function isIPv6(text) {
  return bareIPv6(text) !== null;
}

/**
 * @param {string} text
 * @returns {number | null}
 */
function tryIPv4(text) {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(text);
  if (!m) return null;
  let value = 0;
  for (const octet of m.slice(1)) {
    if (octet.length > 1 && octet.startsWith('0')) return null;
    const n = Number(octet);
    if (n > 255) return null;
    value = value * 256 + n;
  }
  return value;
}

/**
 * Parses a dotted-quad IPv4 address into an unsigned 32-bit number.
 * Rejects leading zeros (some tools read them as octal), short forms like
 * "10.1", and IPv6, each with its own message.
 * @param {string} text
 * @returns {number}
 * @throws {NetError}
 */
export function parseIPv4(text) {
  if (text === '') throw new NetError('is empty; an IPv4 address like 192.168.254.220 is needed');
  const value = tryIPv4(text);
  if (value !== null) return value;
  if (isIPv6(text)) {
    throw new NetError(`${q(text)} is an IPv6 address; this runbook needs an IPv4 address here (the clusters are IPv4 single-stack)`);
  }
  const hostPort = /^(\d{1,3}(?:\.\d{1,3}){3}):(\d+)$/.exec(text);
  if (hostPort && tryIPv4(hostPort[1]) !== null) {
    throw new NetError(`${q(text)} has a port; give the address alone: ${hostPort[1]}`, hostPort[1]);
  }
  if (/\//.test(text)) {
    throw new NetError(`${q(text)} is a CIDR; a single IPv4 address is needed here`);
  }
  const m = /^(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (m) {
    const octets = m.slice(1);
    const zero = octets.find((o) => o.length > 1 && o.startsWith('0'));
    if (zero !== undefined && octets.every((o) => Number(o) <= 255)) {
      throw new NetError(`${q(text)} has a leading zero in ${q(zero)}, which some tools read as octal; write ${octets.map(Number).join('.')}`,
        octets.map(Number).join('.'));
    }
    const big = octets.find((o) => Number(o) > 255);
    if (big !== undefined) throw new NetError(`${q(text)} is not an IPv4 address: ${big} is above 255`);
  }
  throw new NetError(`${q(text)} is not an IPv4 address (four numbers 0–255 separated by dots, like 192.168.254.220)`);
}

/**
 * Formats an unsigned 32-bit number as a dotted quad.
 * @param {number} value
 */
export function formatIPv4(value) {
  return [value >>> 24, (value >>> 16) & 255, (value >>> 8) & 255, value & 255].join('.');
}

/**
 * The network mask of a prefix length, as an unsigned 32-bit number.
 * @param {number} prefix 0–32
 */
export function prefixMask(prefix) {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

/**
 * The network address of an address under a prefix length.
 * @param {number} address
 * @param {number} prefix
 */
export function networkOf(address, prefix) {
  return (address & prefixMask(prefix)) >>> 0;
}

/**
 * The shortest prefix length under which the address is still a network address
 * (10.97.0.0 → 16): the CIDR the writer may have meant when keeping the address.
 * @param {number} address
 */
export function shortestPrefixFor(address) {
  let prefix = 32;
  while (prefix > 0 && networkOf(address, prefix - 1) === address) prefix--;
  return prefix;
}

/**
 * Parses an IPv4 CIDR "a.b.c.d/n".
 * By default the address must be the network address (no host bits set); the
 * error then names the network that was probably meant. With allowHostBits the
 * CIDR is returned as written, with its network alongside.
 * @param {string} text
 * @param {{ allowHostBits?: boolean }} [options]
 * @returns {IPv4Cidr}
 * @throws {NetError}
 */
export function parseCidr(text, options = {}) {
  if (text === '') throw new NetError('is empty; an IPv4 CIDR like 10.42.0.0/16 is needed');
  const slash = text.indexOf('/');
  if (slash < 0) {
    if (isIPv6(text)) throw new NetError(`${q(text)} is an IPv6 address; this runbook needs an IPv4 CIDR here, like 10.42.0.0/16`);
    if (tryIPv4(text) !== null) throw new NetError(`${q(text)} has no prefix length; write it as a CIDR, like ${text}/16`);
    throw new NetError(`${q(text)} is not an IPv4 CIDR (an address, a slash and a prefix length, like 10.42.0.0/16)`);
  }
  const addrText = text.slice(0, slash);
  const prefixText = text.slice(slash + 1);
  if (isIPv6(addrText)) {
    throw new NetError(`${q(text)} is an IPv6 CIDR; this runbook needs an IPv4 CIDR here, like 10.42.0.0/16 (the clusters are IPv4 single-stack)`);
  }
  if (!/^(0|[1-9]\d?)$/.test(prefixText) || Number(prefixText) > 32) {
    throw new NetError(`${q(text)} has prefix length ${q(prefixText)}; it must be a whole number from 0 to 32`);
  }
  const prefix = Number(prefixText);
  let address;
  try {
    address = parseIPv4(addrText);
  } catch (err) {
    const reason = err instanceof NetError ? err.message : String(err);
    throw new NetError(`${q(text)} is not an IPv4 CIDR: the address ${reason}`);
  }
  const network = networkOf(address, prefix);
  const last = (network + (2 ** (32 - prefix) - 1)) >>> 0;
  if (network !== address && !options.allowHostBits) {
    const meant = `${formatIPv4(network)}/${prefix}`;
    const keep = shortestPrefixFor(address);
    throw new NetError(
      `${q(text)} is not a network address: it has host bits set. The /${prefix} network containing ${addrText} is ${meant}` +
        `; or, keeping the address, ${addrText}/${keep}`,
      meant,
    );
  }
  return { address, prefix, network, last };
}

/**
 * True when the text is an IPv4 CIDR whose address is its network address.
 * @param {string} text
 */
export function isNormalisedCidr(text) {
  try {
    parseCidr(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * Formats a CIDR by its network address ("10.96.0.0/12").
 * @param {IPv4Cidr} cidr
 */
export function formatCidr(cidr) {
  return `${formatIPv4(cidr.network)}/${cidr.prefix}`;
}

/**
 * The addresses a CIDR covers.
 * @param {IPv4Cidr} cidr
 * @returns {IPv4Range}
 */
export function cidrRange(cidr) {
  return { start: cidr.network, end: cidr.last };
}

/**
 * A range from two addresses given as text ("192.168.254.230", "192.168.254.239").
 * @param {string} startText
 * @param {string} stopText
 * @returns {IPv4Range}
 * @throws {NetError} when an address does not parse or start is after stop
 */
export function parseRange(startText, stopText) {
  const start = parseIPv4(startText);
  const end = parseIPv4(stopText);
  if (start > end) throw new NetError(`start ${startText} comes after stop ${stopText}`);
  return { start, end };
}

/**
 * Orders two addresses (text or numbers): negative, 0 or positive.
 * @param {string | number} a
 * @param {string | number} b
 */
export function compareIPv4(a, b) {
  const x = typeof a === 'number' ? a : parseIPv4(a);
  const y = typeof b === 'number' ? b : parseIPv4(b);
  return x - y;
}

/**
 * @param {IPv4Range | IPv4Cidr} r
 * @returns {IPv4Range}
 */
function asRange(r) {
  return 'prefix' in r ? cidrRange(r) : r;
}

/**
 * True when the two ranges (or CIDRs) share at least one address.
 * @param {IPv4Range | IPv4Cidr} a
 * @param {IPv4Range | IPv4Cidr} b
 */
export function overlaps(a, b) {
  const x = asRange(a);
  const y = asRange(b);
  return x.start <= y.end && y.start <= x.end;
}

/**
 * True when inner (an address, a range or a CIDR) lies wholly inside outer.
 * @param {IPv4Range | IPv4Cidr} outer
 * @param {number | IPv4Range | IPv4Cidr} inner
 */
export function contains(outer, inner) {
  const o = asRange(outer);
  const i = typeof inner === 'number' ? { start: inner, end: inner } : asRange(inner);
  return o.start <= i.start && i.end <= o.end;
}

/**
 * Formats a range as "a.b.c.d–e.f.g.h" (or one address).
 * @param {IPv4Range} range
 */
export function formatRange(range) {
  return range.start === range.end ? formatIPv4(range.start) : `${formatIPv4(range.start)}-${formatIPv4(range.end)}`;
}

/**
 * Canonical form of a host as a URL parser sees it: lower case, no trailing dot,
 * no brackets, and shorthand IPv4 ("127.1", "0x7f.1", "2130706433") expanded
 * the way WHATWG URL parsing does. Returns null when the host does not parse.
 * No DNS lookups are made.
 * @param {string} host
 * @returns {string | null}
 */
export function canonicalHost(host) {
  let h = host.trim();
  if (h === '') return null;
  if (!h.startsWith('[') && isIPv6(h)) h = `[${h}]`;
  try {
    const hostname = new URL(`http://${h}/`).hostname;
    return hostname.replace(/^\[(.*)\]$/, '$1').replace(/\.$/, '').toLowerCase();
  } catch {
    return null;
  }
}

/**
 * True when the host names the machine itself: an IPv4 literal in 127.0.0.0/8
 * (also in shorthand forms), the IPv6 loopback ::1 (also IPv4-mapped
 * ::ffff:127.x.y.z), or "localhost" and any name under ".localhost".
 * Pure text check: no DNS lookups.
 * @param {string} host
 */
export function isLoopbackHost(host) {
  const h = canonicalHost(host);
  if (h === null) return false;
  if (h === 'localhost' || h.endsWith('.localhost')) return true;
  const v4 = tryIPv4(h);
  if (v4 !== null) return v4 >>> 24 === 127;
  const v6 = parseIPv6(h);
  if (v6) {
    if (v6.slice(0, 7).every((g) => g === 0) && v6[7] === 1) return true;
    if (v6.slice(0, 5).every((g) => g === 0) && v6[5] === 0xffff) return v6[6] >>> 8 === 127;
  }
  return false;
}

/**
 * True when the host is the unspecified address (0.0.0.0 or ::), which no other
 * machine can connect to.
 * @param {string} host
 */
export function isUnspecifiedHost(host) {
  const h = canonicalHost(host);
  if (h === null) return false;
  if (tryIPv4(h) === 0) return true;
  const v6 = parseIPv6(h);
  return v6 !== null && v6.every((g) => g === 0);
}
