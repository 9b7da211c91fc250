// @ts-check
// Asking an echo VIP for its page, the way `curl` would: a fresh connection per
// request (a failover must be seen by new connections), a timeout, no retries.
import http from 'node:http';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */

/**
 * @typedef {{ ok: true, status: number, body: string } | { ok: false, error: string }} PageResult
 */

/**
 * @param {string} ip
 * @param {number} port
 * @param {number} timeoutSeconds
 * @returns {Promise<PageResult>}
 */
export function fetchPage(ip, port, timeoutSeconds) {
  return new Promise((resolve) => {
    const req = http.get({ host: ip, port, path: '/', agent: false, timeout: timeoutSeconds * 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { body += d; });
      res.on('end', () => resolve({ ok: true, status: res.statusCode ?? 0, body }));
      res.on('error', (e) => resolve({ ok: false, error: e.message }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutSeconds}s`)));
    req.on('error', (e) => resolve({ ok: false, error: /** @type {NodeJS.ErrnoException} */ (e).code ?? e.message }));
  });
}

/**
 * Which cluster's page a VIP of `c` should show, given the Service's affinity:
 * local → its own, remote → the other's, none set → either.
 * @param {Config} config
 * @param {ClusterConfig} c
 * @returns {string[]}
 */
export function expectedPages(config, c) {
  const other = c.key === 'a' ? config.b : config.a;
  if (config.echo.affinity === 'local') return [c.echoPage];
  if (config.echo.affinity === 'remote') return [other.echoPage];
  return [c.echoPage, other.echoPage];
}

/**
 * Which of the known pages a body shows ('' when none).
 * @param {Config} config
 * @param {string} body
 */
export function pageOf(config, body) {
  return config.clusters.map((c) => c.echoPage).find((p) => body.includes(p)) ?? '';
}

/** The curl a reader would type. @param {string} ip @param {number} port @param {number} timeout */
export const curlLine = (ip, port, timeout) => `curl -s --max-time ${timeout} http://${ip}${port === 80 ? '' : `:${port}`}/`;

/**
 * Bash that asks a VIP once a second until one of the pages answers, then
 * checks once more so that `set -e` stops the script when none did.
 * @param {string} ip a literal or "$ip"
 * @param {number} port
 * @param {number} timeout seconds of the whole wait
 * @param {number} httpTimeout seconds per request
 * @param {string[]} pages
 * @returns {string[]}
 */
export function bashWaitForPage(ip, port, timeout, httpTimeout, pages) {
  const grep = `grep -E ${shellAlternatives(pages)}`;
  const curl = curlLine(ip, port, httpTimeout);
  return [
    `for i in $(seq 1 ${timeout}); do`,
    `  ${curl} | ${grep.replace('grep -E', 'grep -qE')} && { echo "answered after \${i}s"; break; }`,
    '  sleep 1',
    'done',
    `${curl} | ${grep}`,
  ];
}

/** A single-quoted grep -E pattern matching any of the texts literally. @param {string[]} texts */
function shellAlternatives(texts) {
  const esc = texts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `'${esc.join('|').replaceAll("'", `'\\''`)}'`;
}
