// @ts-check
// The VIP poll that steps 08 and 09 declare once: the run (pollPages, Node's
// HTTP) and the transcript (bashPoll, curl in bash) both wait for N answers in
// a row, and count the requests that failed. A loopback server (run) and a
// stand-in curl (bash) answer a scripted sequence of pages.
import test from 'ava';
import http from 'node:http';
import fs from 'node:fs';
import path from 'node:path';
import { spawnSync } from 'node:child_process';
import { makeConfig, tempDir } from '../support/config-fixture.mjs';
import { scaled } from '../support/time.mjs';
import { curl, pollPages, bashPoll } from '../../scripts/lib/http.mjs';
import { Runtime } from '../../scripts/lib/runtime.mjs';

const config = makeConfig();
const [A, B] = [config.a.echoPage, config.b.echoPage];

/**
 * A loopback server answering the sequence's pages in turn ('reset': the
 * connection is dropped), then the last one for ever.
 * @param {import('ava').ExecutionContext} t @param {string[]} pages
 */
async function server(t, pages) {
  let n = 0;
  const srv = http.createServer((req, res) => {
    const page = pages[Math.min(n++, pages.length - 1)];
    if (page === 'reset') return req.socket.destroy();
    res.end(`<h1>${page}</h1>\n`);
  });
  await new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(undefined)));
  t.teardown(() => srv.close());
  const { port } = /** @type {import('node:net').AddressInfo} */ (srv.address());
  return { port, requests: () => n };
}

test('the run: three answers in a row count; a different page starts the count again; dropped requests are counted', async (t) => {
  const s = await server(t, [B, A, 'reset', A, A, B, A, A, A]);
  const rt = new Runtime({ config, mode: 'run' });
  const r = await pollPages(rt, 'the VIP', curl`-s --max-time 5 http://127.0.0.1:${s.port}/`, [A], { every: 0.01, inARow: 3, timeout: scaled(20_000) / 1000 });
  t.is(s.requests(), 9, 'stops at the third A in a row, not before');
  t.is(r.failed, 1);
  t.is(r.page, A);
});

test('the run: past its timeout it names the VIP, the failed requests and the last answer', async (t) => {
  const s = await server(t, [B]);
  const rt = new Runtime({ config, mode: 'run' });
  const err = await t.throwsAsync(pollPages(rt, 'the VIP', curl`-s --max-time 5 http://127.0.0.1:${s.port}/`, [A], { every: 0.05, inARow: 3, timeout: 0.2 }));
  t.regex(err?.message ?? '', new RegExp(`^the VIP:${s.port} did not answer with ${A} within 0.2s \\(0 failed requests; last answer: ${B}\\)$`));
});

/**
 * Runs bashPoll's lines in bash (set -euo pipefail, as a transcript) with a
 * stand-in curl that prints the sequence's pages in turn ('fail': exits 7).
 * @param {string[]} pages @param {import('../../scripts/lib/http.mjs').Poll} poll
 */
function bashRun(pages, poll) {
  const dir = tempDir('vip-poll-');
  const bin = path.join(dir, 'bin');
  fs.mkdirSync(bin);
  fs.writeFileSync(path.join(dir, 'pages'), pages.join('\n') + '\n');
  fs.writeFileSync(path.join(bin, 'curl'), [
    '#!/bin/sh',
    `n=$(cat '${dir}/calls' 2>/dev/null || echo 0); n=$((n + 1)); echo "$n" > '${dir}/calls'`,
    `page=$(sed -n "\${n}p" '${dir}/pages'); [ -n "$page" ] || page=$(tail -n 1 '${dir}/pages')`,
    '[ "$page" = fail ] && exit 7',
    'printf "<h1>%s</h1>\\n" "$page"',
    '',
  ].join('\n'), { mode: 0o755 });
  const script = ['set -euo pipefail', 'ip=127.0.0.1', ...bashPoll(curl`-s --max-time 5 http://${'$ip'}/`, [A], poll, { timed: true }),
    'echo "failed=$failed since=${since:+set}"'].join('\n');
  const r = spawnSync('bash', ['-c', script], {
    encoding: 'utf8', timeout: scaled(20_000), env: { PATH: `${bin}:/usr/bin:/bin`, LC_ALL: 'C' },
  });
  return { ...r, calls: Number(fs.readFileSync(path.join(dir, 'calls'), 'utf8')) };
}

test('the bash: the same three answers in a row, a different page starts again, a failed curl is counted', (t) => {
  const r = bashRun([B, A, 'fail', A, A, B, A, A, A], { every: 0.01, inARow: 3, timeout: 60 });
  t.is(r.status, 0, r.stderr);
  t.is(r.calls, 9, 'stops at the third A in a row, not before');
  t.is(r.stdout, `${A}\nfailed=1 since=set\n`);
});

test('the bash: past its timeout it says so and fails, so that set -e stops the transcript', (t) => {
  const r = bashRun([B], { every: 0.2, inARow: 3, timeout: 1 });
  t.not(r.status, 0);
  t.regex(r.stderr, new RegExp(`^127\\.0\\.0\\.1 did not answer with ${A} 3 times in a row within 1s \\(0 failed requests\\)$`, 'm'));
  t.false(r.stdout.includes('failed='), 'nothing after the poll ran');
});
