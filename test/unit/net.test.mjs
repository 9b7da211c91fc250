// @ts-check
import test from 'ava';
import {
  NetError,
  parseIPv4,
  parseIPv6,
  isIPv6,
  formatIPv4,
  parseCidr,
  isNormalisedCidr,
  formatCidr,
  cidrRange,
  parseRange,
  compareIPv4,
  overlaps,
  contains,
  formatRange,
  shortestPrefixFor,
  isLoopbackHost,
  isUnspecifiedHost,
} from '../../scripts/lib/net.mjs';

/**
 * The NetError a call throws.
 * @param {import('ava').ExecutionContext} t
 * @param {() => unknown} fn
 */
function netError(t, fn) {
  const err = t.throws(fn, { instanceOf: NetError });
  if (!err) throw new Error('expected a NetError');
  return /** @type {NetError} */ (err);
}

test('parseIPv4 reads dotted quads as unsigned 32-bit numbers', (t) => {
  t.is(parseIPv4('0.0.0.0'), 0);
  t.is(parseIPv4('255.255.255.255'), 0xffffffff);
  t.is(parseIPv4('192.168.254.220'), (192 * 2 ** 24) + (168 << 16) + (254 << 8) + 220);
  t.is(formatIPv4(parseIPv4('10.42.0.1')), '10.42.0.1');
  t.is(formatIPv4(0xffffffff), '255.255.255.255');
});

test('parseIPv4 rejects malformed addresses with a reason', (t) => {
  t.regex(netError(t, () => parseIPv4('256.1.1.1')).message, /256 is above 255/);
  t.regex(netError(t, () => parseIPv4('10.1')).message, /is not an IPv4 address/);
  t.regex(netError(t, () => parseIPv4('abc')).message, /"abc" is not an IPv4 address/);
  t.regex(netError(t, () => parseIPv4('1.2.3.4.5')).message, /is not an IPv4 address/);
  t.regex(netError(t, () => parseIPv4('')).message, /^is empty/);
  const zero = netError(t, () => parseIPv4('192.168.254.022'));
  t.regex(zero.message, /leading zero in "022".*octal; write 192\.168\.254\.22/);
  t.is(zero.suggestion, '192.168.254.22');
  const port = netError(t, () => parseIPv4('192.168.254.220:2379'));
  t.regex(port.message, /has a port; give the address alone: 192\.168\.254\.220/);
  t.regex(netError(t, () => parseIPv4('10.0.0.0/8')).message, /is a CIDR; a single IPv4 address/);
});

test('IPv6 where IPv4 is meant is named as IPv6', (t) => {
  t.regex(netError(t, () => parseIPv4('fd00::1')).message, /"fd00::1" is an IPv6 address; this runbook needs an IPv4 address/);
  t.regex(netError(t, () => parseCidr('fd00:10:42::/56')).message, /is an IPv6 CIDR; this runbook needs an IPv4 CIDR/);
  t.regex(netError(t, () => parseCidr('fd00::1')).message, /is an IPv6 address; this runbook needs an IPv4 CIDR/);
});

test('parseIPv6 understands compression, brackets, zones and IPv4 tails', (t) => {
  t.deepEqual(parseIPv6('::1'), [0, 0, 0, 0, 0, 0, 0, 1]);
  t.deepEqual(parseIPv6('[::1]'), [0, 0, 0, 0, 0, 0, 0, 1]);
  t.deepEqual(parseIPv6('fe80::1%eth0'), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  t.deepEqual(parseIPv6('::ffff:127.0.0.1'), [0, 0, 0, 0, 0, 0xffff, 0x7f00, 1]);
  t.deepEqual(parseIPv6('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  t.deepEqual(parseIPv6('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  t.is(parseIPv6('1::2::3'), null);
  t.is(parseIPv6('1:2:3:4:5:6:7'), null);
  t.is(parseIPv6('1:2:3:4:5:6:7:8:9'), null);
  t.is(parseIPv6('::g'), null);
  t.is(parseIPv6('1.2.3.4'), null);
  t.false(isIPv6('192.168.1.1:80'));
  t.true(isIPv6('2001:db8::42'));
});

test('parseCidr returns network, prefix and last address', (t) => {
  const c = parseCidr('10.96.0.0/12');
  t.is(c.prefix, 12);
  t.is(formatIPv4(c.network), '10.96.0.0');
  t.is(formatIPv4(c.last), '10.111.255.255');
  t.is(formatCidr(c), '10.96.0.0/12');
  const all = parseCidr('0.0.0.0/0');
  t.deepEqual(cidrRange(all), { start: 0, end: 0xffffffff });
  const one = parseCidr('192.168.254.220/32');
  t.is(one.network, one.last);
});

test('host bits set: the message names the network probably meant', (t) => {
  const err = netError(t, () => parseCidr('10.97.0.0/12'));
  t.regex(err.message, /"10\.97\.0\.0\/12" is not a network address: it has host bits set/);
  t.regex(err.message, /The \/12 network containing 10\.97\.0\.0 is 10\.96\.0\.0\/12/);
  t.regex(err.message, /keeping the address, 10\.97\.0\.0\/16/);
  t.is(err.suggestion, '10.96.0.0/12');
  const loose = parseCidr('10.97.0.0/12', { allowHostBits: true });
  t.is(formatIPv4(loose.address), '10.97.0.0');
  t.is(formatCidr(loose), '10.96.0.0/12');
  t.false(isNormalisedCidr('10.97.0.0/12'));
  t.true(isNormalisedCidr('10.112.0.0/12'));
  t.false(isNormalisedCidr('10.42.0.1/16'));
  t.false(isNormalisedCidr('nonsense'));
  t.is(shortestPrefixFor(parseIPv4('10.97.0.0')), 16);
  t.is(shortestPrefixFor(parseIPv4('10.96.0.0')), 11);
  t.is(shortestPrefixFor(0), 0);
});

test('parseCidr rejects bad prefixes and missing slashes', (t) => {
  t.regex(netError(t, () => parseCidr('10.0.0.0/33')).message, /prefix length "33"; it must be a whole number from 0 to 32/);
  t.regex(netError(t, () => parseCidr('10.0.0.0/')).message, /prefix length ""/);
  t.regex(netError(t, () => parseCidr('10.0.0.0/08')).message, /prefix length "08"/);
  t.regex(netError(t, () => parseCidr('10.42.0.0')).message, /has no prefix length; write it as a CIDR/);
  t.regex(netError(t, () => parseCidr('10.42.0/16')).message, /is not an IPv4 CIDR: the address "10\.42\.0" is not an IPv4 address/);
  t.regex(netError(t, () => parseCidr('')).message, /^is empty/);
});

test('overlaps and contains work on CIDRs, ranges and addresses', (t) => {
  const svcA = parseCidr('10.96.0.0/12');
  const svcB = parseCidr('10.112.0.0/12');
  const podA = parseCidr('10.42.0.0/16');
  const big = parseCidr('10.0.0.0/8');
  t.false(overlaps(svcA, svcB), 'adjacent /12s do not overlap');
  t.true(overlaps(big, podA));
  t.true(overlaps(podA, big));
  t.true(contains(big, podA));
  t.false(contains(podA, big));
  t.true(contains(podA, parseIPv4('10.42.255.255')));
  t.false(contains(podA, parseIPv4('10.43.0.0')));
  const poolA = parseRange('192.168.254.230', '192.168.254.239');
  const poolB = parseRange('192.168.254.240', '192.168.254.249');
  t.false(overlaps(poolA, poolB));
  t.true(overlaps(poolA, parseRange('192.168.254.239', '192.168.254.239')), 'inclusive ends');
  t.true(contains(poolA, parseIPv4('192.168.254.230')));
  t.false(contains(poolA, parseIPv4('192.168.254.220')));
  t.true(overlaps(parseCidr('192.168.254.224/28'), poolA));
  t.is(formatRange(poolA), '192.168.254.230-192.168.254.239');
  t.is(formatRange({ start: 1, end: 1 }), '0.0.0.1');
});

test('range compare and start after stop', (t) => {
  t.true(compareIPv4('192.168.254.9', '192.168.254.10') < 0, 'numeric, not text order');
  t.is(compareIPv4('10.0.0.1', parseIPv4('10.0.0.1')), 0);
  t.true(compareIPv4('11.0.0.0', '10.255.255.255') > 0);
  t.regex(netError(t, () => parseRange('192.168.254.239', '192.168.254.230')).message, /start 192\.168\.254\.239 comes after stop 192\.168\.254\.230/);
});

test('loopback hosts are recognised without DNS', (t) => {
  for (const host of ['127.0.0.1', '127.0.1.1', '127.1', '0x7f.0.0.1', '2130706433', 'localhost', 'LOCALHOST', 'localhost.', 'api.localhost', '::1', '[::1]', '0:0:0:0:0:0:0:1', '::ffff:127.0.0.1']) {
    t.true(isLoopbackHost(host), host);
  }
  for (const host of ['192.168.254.10', '128.0.0.1', 'localhost.example.com', 'mylocalhost', 'example.com', '::2', 'fe80::1', '']) {
    t.false(isLoopbackHost(host), host);
  }
  t.true(isUnspecifiedHost('0.0.0.0'));
  t.true(isUnspecifiedHost('::'));
  t.false(isUnspecifiedHost('10.0.0.0'));
});
