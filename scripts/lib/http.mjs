// @ts-check
// Asking an echo VIP for its page, the way `curl` would: a fresh connection per
// request (a failover must be seen by new connections), a timeout, no retries.
// A step writes its request as a curl command (the `curl` tag) and its wait as
// a poll (every so many seconds until so many answers in a row); the run makes
// the same requests with Node and the transcript gets the same poll in bash.
import http from 'node:http';
import { wordsOf } from './commands.mjs';
import { sleep } from './runtime.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * @typedef {{ ok: true, status: number, body: string } | { ok: false, error: string }} PageResult
 */

/**
 * How a step waits for a page: a request every `every` seconds until `inARow`
 * answers in a row show one of the pages, for at most `timeout` seconds.
 * @typedef {{ every: number, inARow: number, timeout: number }} Poll
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

/** A curl command: its words, the line a reader types, and the request it makes. */
export class Curl {
  /** @param {string[]} args */
  constructor(args) {
    this.args = args;
    const url = new URL(args.find((a) => /^https?:\/\//.test(a)) ?? 'http://missing-url/');
    const max = args.indexOf('--max-time');
    /** Where the request goes, as fetchPage takes it. */
    this.host = url.hostname;
    this.port = Number(url.port || 80);
    this.maxTime = max >= 0 ? Number(args[max + 1]) : 0;
  }

  /** As typed; unquoted, so that `$ip` expands (every word is a flag, a number or the URL). */
  get line() { return ['curl', ...this.args].join(' '); }

  /** The same request, with Node. */
  fetch() { return fetchPage(this.host, this.port, this.maxTime); }
}

/** ``curl`-s --max-time ${t} http://${ip}/` ``: words as in kubectl`…`. @param {TemplateStringsArray} strings @param {unknown[]} values */
export const curl = (strings, ...values) => new Curl(wordsOf(strings, values).args);

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

/**
 * Asks until `poll.inARow` answers in a row show one of `pages`, a request every
 * `poll.every` seconds, showing the wait. Returns when the first answer of that
 * run was asked (seconds after `started`), how many requests failed (no HTTP
 * answer) and the page; throws past `poll.timeout` seconds after `started`.
 * `onAnswer` sees every request: what fetchPage answered and when it was sent.
 * @param {Runtime} rt
 * @param {string} vip what is asked, e.g. "cluster-b's VIP 10.0.0.1"
 * @param {Curl} ask
 * @param {string[]} pages
 * @param {Poll} poll
 * @param {{ started?: number, onAnswer?: (page: PageResult, sentAt: number) => void }} [o]
 *   started: performance.now() when the clock starts (default now); sentAt: performance.now() too
 * @returns {Promise<{ seconds: number, failed: number, page: string }>}
 */
export function pollPages(rt, vip, ask, pages, poll, { started = performance.now(), onAnswer } = {}) {
  const config = rt.config;
  return rt.withWait(`${vip} to answer with ${pages.join(' or ')}`, poll.timeout, async () => {
    let failed = 0;
    let streak = 0;
    let since = 0;
    let last = '';
    for (;;) {
      // One request: when it was sent, and what answered.
      const t = performance.now();
      const page = await ask.fetch();
      onAnswer?.(page, t);
      const got = page.ok ? pageOf(config, page.body) : '';
      if (!page.ok) failed++;
      last = page.ok ? (got || `HTTP ${page.status}`) : page.error;
      if (pages.includes(got)) {
        if (streak++ === 0) since = t;
        if (streak >= poll.inARow) return { seconds: (since - started) / 1000, failed, page: got };
      } else {
        streak = 0;
      }
      if ((performance.now() - started) / 1000 >= poll.timeout) break;
      await sleep(poll.every * 1000, rt.signal);
    }
    throw new Error(`${vip}:${ask.port} did not answer with ${pages.join(' or ')} within ${poll.timeout}s ` +
      `(${failed} failed requests; last answer: ${last})`);
  });
}

/**
 * The same poll in bash: `curl` every `poll.every` seconds until `poll.inARow`
 * answers in a row show one of the pages, then prints the page. Leaves
 * `$failed` (requests curl failed) and, when timed, `$since` (when the first
 * of those answers was asked, ns since the epoch). Past the timeout it says so
 * and fails (`set -e` stops the script).
 * @param {Curl} ask with `$ip` for the address
 * @param {string[]} pages
 * @param {Poll} poll
 * @param {{ timed?: boolean }} [opts]
 * @returns {string[]}
 */
export function bashPoll(ask, pages, poll, opts = {}) {
  const pattern = shellAlternatives(pages);
  const n = poll.inARow;
  const seen = opts.timed ? '[ "$ok" -gt 0 ] || since=$now; ' : '';
  return [
    `ok=0 failed=0 end=$((SECONDS + ${poll.timeout}))`,
    `while [ "$ok" -lt ${n} ] && [ "$SECONDS" -lt "$end" ]; do`,
    ...(opts.timed ? ['  now=$(date +%s%N)'] : []),
    `  page=$(${ask.line}) || { page=; failed=$((failed + 1)); }`,
    `  if grep -qE ${pattern} <<<"$page"; then ${seen}ok=$((ok + 1)); else ok=0; fi`,
    `  [ "$ok" -ge ${n} ] || sleep ${poll.every}`,
    'done',
    `[ "$ok" -ge ${n} ] || { echo "$ip did not answer with ${dq(pages.join(' or '))}${n > 1 ? ` ${n} times in a row` : ''} within ${poll.timeout}s ($failed failed requests)" >&2; false; }`,
    `grep -m 1 -oE ${pattern} <<<"$page"`,
  ];
}

/** Text for inside bash double quotes. @param {string} s */
export const dq = (s) => s.replace(/[\\"$`]/g, '\\$&');

/** A single-quoted grep -E pattern matching any of the texts literally. @param {string[]} texts */
function shellAlternatives(texts) {
  const esc = texts.map((p) => p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  return `'${esc.join('|').replaceAll("'", `'\\''`)}'`;
}
