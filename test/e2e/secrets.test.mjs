// @ts-check
// The Cilium CA's private key (ca.key of Secret kube-system/cilium-ca) never
// leaves the clusters except through the runbook's memory: not in any output —
// also with --verbose, --dry-run and on failure paths (B's API server stopping
// in the middle of step 02, B holding another CA) — and not in any file left
// behind in the work tree (untracked files, .runbook/) or in the temp folder
// (every file created or changed there during the test, the twins' own folders
// included: they hold the env file, kubeconfigs, kubectl's cache and the
// diagnostics bundles of failed steps, none of which may hold the key). The scanners are checked to
// find the key when it is planted.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { lstatSync, readdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, sep } from 'node:path';
import { e2eTwin, ROOT } from '../support/e2e.mjs';
import { slots } from '../support/end-state.mjs';
import { scaled } from '../support/time.mjs';

/** @typedef {import('../support/e2e.mjs').E2E} E2E */
/** @typedef {import('../support/e2e.mjs').RunResult} RunResult */

const slot = slots(1); // with serial tests: one twin at a time

/**
 * What gives the key away: its base64 as the Secret holds it, the PEM, and
 * 32-character pieces of both every 16 characters, so that any 48 characters in
 * a row are caught (a message that cuts a value short still leaks).
 * No pieces of the first PEM line or the end: a PEM starts with a BEGIN line
 * and the DER header every key of its kind shares ("MIGHAgEAMBMGByqGSM49AgEG…"
 * for P-256, in the twin's own PKI files too) and ends with an END line.
 * @param {string} b64 data['ca.key'] of the Secret
 * @returns {string[]}
 */
function needlesOf(b64) {
  const pem = Buffer.from(b64, 'base64').toString('utf8');
  const body = pem.split('\n').filter((l) => l && !l.startsWith('-----'));
  /** @type {string[]} */
  const pieces = [b64, pem];
  // base64 of the PEM: 4 characters per 3 of the PEM; start past its first two lines.
  for (let i = 4 * Math.ceil((body[0].length + 40) / 3); i + 32 <= b64.length - 64; i += 16) pieces.push(b64.slice(i, i + 32));
  for (const l of body.slice(1)) for (let i = 0; i + 32 <= l.length; i += 16) pieces.push(l.slice(i, i + 32));
  return [...new Set(pieces.filter((p) => p.length >= 32))];
}

/** The needles for a cluster's cilium-ca key. @param {E2E} h @param {'a' | 'b'} k */
function keyNeedles(h, k) {
  const b64 = h.store(k).get('/secrets', 'kube-system', 'cilium-ca')?.data?.['ca.key'];
  if (typeof b64 !== 'string' || b64.length < 200) throw new Error(`cluster ${k} has no cilium-ca key`);
  return needlesOf(b64);
}

/** The first needle found in text, or ''. @param {string} text @param {string[]} needles */
const found = (text, needles) => needles.find((n) => text.includes(n)) ?? '';

/**
 * Every file under dir (symlinks not followed; what vanishes meanwhile is skipped).
 * @param {string} dir
 * @returns {Map<string, number>} path → mtimeMs
 */
function filesUnder(dir) {
  /** @type {Map<string, number>} */
  const files = new Map();
  /** @param {string} d */
  const walk = (d) => {
    let names;
    try {
      names = readdirSync(d);
    } catch {
      return;
    }
    for (const n of names) {
      const p = join(d, n);
      try {
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) files.set(p, st.mtimeMs);
      } catch { /* gone */ }
    }
  };
  walk(dir);
  return files;
}

/** Files in the temp folder now that were not there before, or changed since. @param {Map<string, number>} before @param {number} since */
function newTempFiles(before, since) {
  // A work tree inside the temp folder (CI may clone there) is scanned as the work tree, not here.
  const tree = ROOT.endsWith(sep) ? ROOT : ROOT + sep;
  return [...filesUnder(tmpdir())].filter(([p, mtime]) => !p.startsWith(tree) && (!before.has(p) || mtime >= since || before.get(p) !== mtime)).map(([p]) => p);
}

/** Untracked files of the work tree (ignored ones too, like .runbook/ and .env), without node_modules and the fetched tools. */
async function untrackedFiles() {
  const { stdout } = await promisify(execFile)('git', ['ls-files', '-o', '-z'], { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 });
  const files = stdout.split('\0').filter((p) => p && !p.startsWith('node_modules/') && !p.startsWith('.tools/')).map((p) => join(ROOT, p));
  const runbook = join(ROOT, '.runbook');
  if (existsSync(runbook)) files.push(...filesUnder(runbook).keys());
  return [...new Set(files)];
}

/** Files that contain a needle. @param {string[]} paths @param {string[]} needles */
function filesWith(paths, needles) {
  return paths.filter((p) => {
    let text;
    try {
      if (lstatSync(p).size > 32 * 1024 * 1024) return false;
      text = readFileSync(p, 'latin1');
    } catch {
      return false; // gone, or unreadable
    }
    return found(text, needles) !== '';
  });
}

/**
 * Checks outputs and left-behind files for the needles.
 * @param {import('ava').ExecutionContext} t @param {string[]} needles
 * @param {Array<[string, RunResult]>} runs @param {Map<string, number>} tmpBefore @param {number} since
 */
async function assertNoLeak(t, needles, runs, tmpBefore, since) {
  for (const [what, r] of runs) {
    t.is(found(r.stdout, needles), '', `${what}: the CA key is in stdout`);
    t.is(found(r.stderr, needles), '', `${what}: the CA key is in stderr`);
  }
  const temp = newTempFiles(tmpBefore, since);
  const tree = await untrackedFiles();
  t.true(temp.length > 0, 'the runs left files in the temp folder (the twin\'s at least): the scan saw them');
  // A failed step saves a diagnostics bundle (the e2e harness points it into the twin's folder): it is scanned too.
  for (const [what, r] of runs) {
    const saved = /diagnostics saved in (\S+) \(start with summary\.txt\)/.exec(r.stderr)?.[1];
    if (saved) t.true([...temp, ...tree].some((p) => p.startsWith(resolve(ROOT, saved))), `${what}: its diagnostics bundle ${saved} was scanned`);
  }
  t.deepEqual(filesWith(temp, needles), [], 'files in the temp folder holding the CA key');
  t.deepEqual(filesWith(tree, needles), [], 'untracked files in the work tree holding the CA key');
}

test.serial('--verbose, --dry-run and a second run print the CA key nowhere and leave it in no file; the scanners find it when it is planted', (t) => slot(async () => {
  const since = Date.now();
  const tmpBefore = filesUnder(tmpdir());
  const h = await e2eTwin(t);
  /** @type {Array<[string, RunResult]>} */
  const runs = [];
  runs.push(['01 --verbose', await h.run('all.mjs', ['--only', '01', '--verbose'])]);
  runs.push(['--dry-run --verbose before 02', await h.run('all.mjs', ['--dry-run', '--verbose'])]);
  runs.push(['02 --verbose', await h.run('02-share-ca.mjs', ['--verbose'])]);
  runs.push(['all --verbose', await h.run('all.mjs', ['--verbose'])]);
  runs.push(['all --verbose again', await h.run('all.mjs', ['--verbose'])]);
  runs.push(['all --dry-run --verbose after', await h.run('all.mjs', ['--dry-run', '--verbose'])]);
  t.deepEqual(runs.map(([, r]) => r.code), [0, 1, 0, 0, 0, 0], runs.map(([w, r]) => `${w}:\n${r.output}`).join('\n'));
  t.regex(runs[1][1].stderr, /run step 02 \(npm run 02\) first/, 'the dry run before 02 stops at 03, which needs the CA');
  t.regex(runs[2][1].output, /✚ changed Copy Secret kube-system\/cilium-ca/, 'step 02 copied the CA in this test');
  const needles = keyNeedles(h, 'a');
  t.deepEqual(keyNeedles(h, 'b'), needles, 'B holds A\'s key');
  await assertNoLeak(t, needles, runs, tmpBefore, since);

  // The scanners work: the key planted in a temp file, a work-tree file and an output is found.
  const pem = Buffer.from(h.store('a').get('/secrets', 'kube-system', 'cilium-ca')?.data?.['ca.key'], 'base64').toString('utf8');
  const line = pem.split('\n')[2]; // the second line of the PEM body
  const plantDir = mkdtempSync(join(tmpdir(), 'secrets-test-plant-'));
  const plantTemp = join(plantDir, 'leak.txt');
  const plantTree = join(ROOT, `.secrets-test-plant-${process.pid}.txt`);
  t.teardown(() => {
    rmSync(plantDir, { recursive: true, force: true });
    rmSync(plantTree, { force: true });
  });
  writeFileSync(plantTemp, `key: ${line}\n`);
  writeFileSync(plantTree, `-----BEGIN RSA PRIVATE KEY-----\n${line}\n`);
  t.deepEqual(filesWith(newTempFiles(tmpBefore, since), needles), [plantTemp]);
  t.deepEqual(filesWith(await untrackedFiles(), needles), [plantTree]);
  t.not(found(`error: ${line.slice(8, 56)}…`, needles), '', '48 characters of a PEM line in an output');
  const b64 = Buffer.from(pem).toString('base64');
  t.not(found(`"ca.key": "${b64.slice(150, 198)}…`, needles), '', '48 characters of the base64 in an output');
  rmSync(plantTree, { force: true });
}));

test.serial("step 02 failing because B's API server stops in the middle (--verbose) prints the key nowhere and leaves it in no file", (t) => slot(async () => {
  const since = Date.now();
  const tmpBefore = filesUnder(tmpdir());
  const h = await e2eTwin(t);
  const b = h.twin.clusters.b.server;
  /** @type {Array<[string, RunResult]>} */
  const runs = [];
  let stopping = false;
  const failed = await h.run('all.mjs', ['--verbose'], {
    onOutput: (o) => {
      // B slows down when step 02 starts, and stops between the CA read and the write.
      if (/── 02 ·/.test(o)) b.faults.latencyMs = 200;
      if (stopping || !/ \| \(drop server fields in memory\) \| /.test(o)) return;
      stopping = true;
      b.stop();
    },
  });
  runs.push(['all --verbose, B stopping', failed]);
  t.is(failed.code, 1, failed.output);
  t.regex(failed.output, /^✘ 02 /m);
  t.regex(failed.stderr, /cluster B \(context cluster-b\): the API server at https:\/\/127\.0\.0\.1:\d+ is not reachable/);
  runs.push(['02 --verbose, B stopped', await h.run('02-share-ca.mjs', ['--verbose'])]);
  await b.start();
  b.faults.latencyMs = 0;
  const again = await h.run('all.mjs', ['--verbose']);
  runs.push(['all --verbose, B back', again]);
  t.is(again.code, 0, again.output);
  await assertNoLeak(t, keyNeedles(h, 'a'), runs, tmpBefore, since);
}));

test.serial('B already holding another CA: the refusals of 02 and 03 (--verbose, --dry-run) print neither key and leave them in no file', (t) => slot(async () => {
  const since = Date.now();
  const tmpBefore = filesUnder(tmpdir());
  const h = await e2eTwin(t);
  /** @type {Array<[string, RunResult]>} */
  const runs = [];
  // Cilium installed on B before the CA was shared: B made its own CA.
  await promisify(execFile)('cilium', ['install', '--context', 'cluster-b', '--version', '1.19.3',
    '--set', 'cluster.name=cluster-b', '--set', 'cluster.id=2'], { env: h.env, timeout: scaled(120_000) });
  const first = await h.run('all.mjs', ['--verbose']);
  runs.push(['all --verbose', first]);
  t.is(first.code, 1, first.output);
  t.regex(first.stderr, /cluster-b already has a different Cilium CA/);
  const install = await h.run('03-install-b.mjs', ['--verbose']);
  runs.push(['03 --verbose', install]);
  t.is(install.code, 1, install.output);
  runs.push(['all --dry-run --verbose', await h.run('all.mjs', ['--dry-run', '--verbose'])]);
  runs.push(['02 --verbose', await h.run('02-share-ca.mjs', ['--verbose'])]);
  const keyA = keyNeedles(h, 'a');
  const keyB = keyNeedles(h, 'b');
  t.notDeepEqual(keyA, keyB, 'the clusters hold different keys');
  await assertNoLeak(t, [...keyA, ...keyB], runs, tmpBefore, since);
}));
