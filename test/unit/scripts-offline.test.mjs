// @ts-check
// The real scripts, run as a user runs them (node scripts/NN-….mjs), with no
// cluster anywhere: --help, --transcript, and every kind of bad input, which
// must end with exit 2 before a cluster could be touched. The child gets a clean
// environment (no KUBECONFIG or CLUSTER_* of the machine running the tests) and
// an env file whose KUBECONFIG is the mesh fixture.
import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { STEPS } from '../../scripts/steps.mjs';
import { headerComment } from '../../scripts/lib/cli.mjs';
import { ciliumValues } from '../../scripts/lib/manifests.mjs';
import { echoApp } from '../../scripts/08-deploy-echo.mjs';
import { meshPool } from '../../scripts/04-mesh-pools.mjs';
import { appPool } from '../../scripts/05-app-pools.mjs';
import { ROOT, MESH_KUBECONFIG, articleConfig, writeEnvFile, tempDir, standInTools } from '../support/config-fixture.mjs';
import { scaled } from '../support/time.mjs';

/** @typedef {import('../../scripts/lib/manifests.mjs').Manifest} Manifest */

const config = articleConfig();
const ENV_FILE = writeEnvFile();
const BROKEN_ENV_FILE = writeEnvFile({ CLUSTER_A_ID: '0' });

/** A PATH holding node and nothing else: no kubectl, no cilium, no bash. */
const NODE_ONLY = (() => {
  const dir = path.join(tempDir('runbook-node-only-'), 'bin');
  fs.mkdirSync(dir);
  fs.symlinkSync(process.execPath, path.join(dir, 'node'));
  return dir;
})();

/** The scripts: the nine steps and all.mjs. */
const SCRIPTS = [
  ...STEPS.map((s) => ({ id: s.id, file: `scripts/${s.name}.mjs`, title: `Step ${s.id} — ` })),
  { id: 'all', file: 'scripts/all.mjs', title: 'All steps — connect two K3s clusters with Cilium ClusterMesh, 01 to 09' },
];

// At most a few node processes at a time, so the suite stays fast on small machines.
let running = 0;
/** @type {Array<() => void>} */
const queue = [];
const slot = async () => {
  if (running >= 6) await new Promise((resolve) => queue.push(() => resolve(undefined)));
  running++;
};
const release = () => {
  running--;
  queue.shift()?.();
};

/**
 * Runs a script with node, in a clean environment.
 * @param {string} file e.g. "scripts/01-install-a.mjs"
 * @param {string[]} args
 * @param {{ PATH?: string, env?: string }} [opts] PATH (default: the test's own), env file (default: the article's)
 * @returns {Promise<{ code: number | null, stdout: string, stderr: string }>}
 */
async function run(file, args, opts = {}) {
  await slot();
  try {
    return await new Promise((resolve) => {
      execFile(process.execPath, [file, ...args], {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: scaled(15_000),
        env: {
          PATH: opts.PATH ?? process.env.PATH ?? '',
          HOME: tempDir('runbook-home-'),
          RUNBOOK_ENV: opts.env ?? ENV_FILE,
          NO_COLOR: '1',
          ...(process.env.TMPDIR ? { TMPDIR: process.env.TMPDIR } : {}),
        },
      }, (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : null) : 0;
        resolve({ code, stdout, stderr });
      });
    });
  } finally {
    release();
  }
}

/** @param {string} text */
const bashCheck = (text) => spawnSync('bash', ['-n'], { input: text, encoding: 'utf8' });

/**
 * The heredocs of a transcript: the line that opens each one and its body.
 * @param {string} text
 */
function heredocs(text) {
  return [...text.matchAll(/^(.*) <<'(EOF\d*)'\n([\s\S]*?)^\2$/gm)].map((m) => ({ line: m[1], body: m[3] }));
}

/** The heredocs each script must hold, in order. @type {Record<string, Array<{ line: string, manifest: Manifest }>>} */
const HEREDOCS = (() => {
  const apply = (/** @type {string} */ ctx) => `kubectl --context ${ctx} apply -f -`;
  /** @type {Record<string, Array<{ line: string, manifest: Manifest }>>} */
  const h = {
    '01': [{ line: 'cat > cilium-values-cluster-a.yaml', manifest: ciliumValues(config, config.a) }],
    '02': [],
    '03': [{ line: 'cat > cilium-values-cluster-b.yaml', manifest: ciliumValues(config, config.b) }],
    '04': config.clusters.map((c) => ({ line: apply(c.context), manifest: meshPool(c) })),
    '05': config.clusters.map((c) => ({ line: apply(c.context), manifest: appPool(c) })),
    '06': [],
    '07': [],
    '08': config.clusters.map((c) => ({ line: apply(c.context), manifest: echoApp(config, c) })),
    '09': [],
  };
  h.all = STEPS.flatMap((s) => h[s.id]);
  return h;
})();

const CA_PIPE = "kubectl --context cluster-a get secret -n kube-system cilium-ca -o yaml \\\n" +
  "  | sed -e '/^  resourceVersion: /d' -e '/^  uid: /d' -e '/^  creationTimestamp: /d' \\\n" +
  '  | kubectl --context cluster-b create -f -\n';

/** Lines bash would run (comments left out). @param {string} text */
const codeLines = (text) => text.split('\n').filter((l) => !l.trimStart().startsWith('#'));

for (const script of SCRIPTS) {
  test(`${script.id}: --help exits 0 and prints the script's header`, async (t) => {
    const r = await run(script.file, ['--help']);
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, '');
    const header = headerComment(fs.readFileSync(path.join(ROOT, script.file), 'utf8'));
    const [titleLine] = header.split('\n');
    t.true(titleLine.startsWith(script.title), titleLine);
    t.true(r.stdout.startsWith(`${titleLine}\n\n`), `starts with the title line:\n${r.stdout.slice(0, 200)}`);
    t.true(r.stdout.includes(header), 'the whole header comment');
    t.true(r.stdout.includes('--transcript'), 'lists --transcript');
    t.true(r.stdout.includes('--dry-run'), 'lists --dry-run');
    if (script.id !== 'all') t.regex(r.stdout, /\nYou should see: \S/, 'says what a reader should see');
    else for (const f of ['--from NN', '--only NN', '--keep-down', '--again']) t.true(r.stdout.includes(f), f);
    t.false(r.stdout.includes('/**') || r.stdout.includes(' * '), 'no comment syntax');
  });

  test(`${script.id}: --transcript needs no kubectl, cilium or cluster, and is bash that holds the runbook`, async (t) => {
    const r = await run(script.file, ['--transcript'], { PATH: NODE_ONLY });
    t.is(r.code, 0, r.stderr);
    t.is(r.stderr, '');
    const text = r.stdout;
    const check = bashCheck(text);
    t.is(check.status, 0, `bash -n: ${check.stderr}`);
    t.true(text.startsWith('#!/usr/bin/env bash\n'));
    t.true(text.includes('\nset -euo pipefail\n'));
    t.true(text.includes(`\nexport KUBECONFIG="${MESH_KUBECONFIG}"\n`));
    const ids = script.id === 'all' ? STEPS.map((s) => s.id) : [script.id];
    const titles = [...text.matchAll(/^# Step (\d\d) — (.*)$/gm)].map((m) => m[1]);
    t.deepEqual(titles, ids, 'the step headers, in order');

    const docs = heredocs(text);
    t.deepEqual(docs.map((d) => d.line), HEREDOCS[script.id].map((h) => h.line), 'one heredoc per manifest');
    HEREDOCS[script.id].forEach((h, i) => t.is(docs[i]?.body, h.manifest.yaml, `heredoc ${h.line} holds ${h.manifest.name}`));

    t.is(text.includes(CA_PIPE), script.id === '02' || script.id === 'all', 'the CA pipe (in 02 only)');
    for (const secret of ['ca.key:', 'ca.crt:', 'BEGIN', 'LS0tLS1CRUdJTi']) t.false(text.includes(secret), `never ${secret}`);
    t.false(/cilium-ca.*>|>.*cilium-ca/.test(codeLines(text).join('\n')), 'the CA never goes to a file');
    t.deepEqual(codeLines(text).filter((l) => /contect/.test(l)), [], 'never --contect in a command');
  });

  test(`${script.id}: an unknown flag exits 2 naming it, before anything runs`, async (t) => {
    const tools = standInTools([]);
    const r = await run(script.file, ['--contect', 'cluster-a'], { PATH: `${tools.bin}:${NODE_ONLY}` });
    t.is(r.code, 2, r.stdout + r.stderr);
    t.regex(r.stderr, /unknown argument: --contect/);
    t.deepEqual(tools.calls(), []);
  });
}

test('a step-only flag is refused by the other steps: 01 --keep-down exits 2', async (t) => {
  const r = await run('scripts/01-install-a.mjs', ['--keep-down']);
  t.is(r.code, 2);
  t.regex(r.stderr, /--keep-down/);
  const ok = await run('scripts/09-failover.mjs', ['--keep-down', '--again', '--transcript'], { PATH: NODE_ONLY });
  t.is(ok.code, 0, ok.stderr);
});

test('--help works even with a broken env file (it needs no config)', async (t) => {
  const r = await run('scripts/04-mesh-pools.mjs', ['--help'], { env: BROKEN_ENV_FILE });
  t.is(r.code, 0, r.stderr);
  t.true(r.stdout.startsWith('Step 04 — '));
});

for (const [file, args] of /** @type {const} */ ([
  ['scripts/01-install-a.mjs', []],
  ['scripts/05-app-pools.mjs', ['--dry-run']],
  ['scripts/09-failover.mjs', ['--transcript']],
  ['scripts/all.mjs', []],
])) {
  test(`${file} ${args.join(' ')}: CLUSTER_A_ID=0 exits 2 naming CLUSTER_A_ID before any tool runs`, async (t) => {
    const tools = standInTools([]);
    const r = await run(file, [...args], { env: BROKEN_ENV_FILE, PATH: `${tools.bin}:${NODE_ONLY}` });
    t.is(r.code, 2, r.stdout + r.stderr);
    t.regex(r.stderr, /CLUSTER_A_ID: /);
    t.regex(r.stderr, new RegExp(BROKEN_ENV_FILE.replaceAll(/[.*+?^${}()|[\]\\/]/g, '\\$&')), 'names the env file');
    t.false(r.stdout.includes('──'), 'no step started');
    t.deepEqual(tools.calls(), [], 'no kubectl or cilium was started');
  });
}

test('every config problem is listed at once, one line per variable', async (t) => {
  const env = writeEnvFile({ CLUSTER_A_ID: '0', CLUSTER_B_MESH_IP: '192.168.254.300', ECHO_AFFINITY: 'none' });
  const r = await run('scripts/all.mjs', ['--transcript'], { env, PATH: NODE_ONLY });
  t.is(r.code, 2);
  for (const v of ['CLUSTER_A_ID', 'CLUSTER_B_MESH_IP', 'ECHO_AFFINITY']) t.regex(r.stderr, new RegExp(`^${v}: `, 'm'));
  t.is(r.stdout, '', 'no transcript from a broken config');
});

test('without kubectl on PATH a run exits 2 naming kubectl (05 needs only kubectl)', async (t) => {
  const r = await run('scripts/05-app-pools.mjs', [], { PATH: NODE_ONLY });
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /^kubectl: not found on PATH/m);
  t.notRegex(r.stderr, /cilium: not found/, '05 does not need cilium');
  t.false(r.stdout.includes('──'), 'no step started');
});

test('without kubectl and cilium on PATH, 01 and all.mjs name both; --dry-run needs them too', async (t) => {
  for (const [file, args] of /** @type {const} */ ([['scripts/01-install-a.mjs', []], ['scripts/all.mjs', []], ['scripts/07-clustermesh-connect.mjs', ['--dry-run']]])) {
    const r = await run(file, [...args], { PATH: NODE_ONLY });
    t.is(r.code, 2, `${file}: ${r.stdout}${r.stderr}`);
    t.regex(r.stderr, /^kubectl: not found on PATH/m, file);
    t.regex(r.stderr, /^cilium: not found on PATH/m, file);
  }
});

test('with kubectl but no cilium, a step that needs cilium names only cilium', async (t) => {
  const tools = standInTools([]);
  const onlyKubectl = path.join(tempDir('runbook-kubectl-only-'), 'bin');
  fs.mkdirSync(onlyKubectl);
  fs.symlinkSync(path.join(tools.bin, 'kubectl'), path.join(onlyKubectl, 'kubectl'));
  const r = await run('scripts/06-clustermesh-enable.mjs', [], { PATH: `${onlyKubectl}:${NODE_ONLY}` });
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /^cilium: not found on PATH/m);
  t.notRegex(r.stderr, /kubectl: not found/);
  t.deepEqual(tools.calls(), []);
});

/** @param {string} text */
const stepsIn = (text) => [...text.matchAll(/^# Step (\d\d) — /gm)].map((m) => m[1]);

test('all.mjs --transcript (npm run transcript): the nine step headers in order', async (t) => {
  const r = await run('scripts/all.mjs', ['--transcript'], { PATH: NODE_ONLY });
  t.is(r.code, 0, r.stderr);
  t.deepEqual(stepsIn(r.stdout), ['01', '02', '03', '04', '05', '06', '07', '08', '09']);
  for (const s of STEPS) t.true(r.stdout.includes(`\n# Step ${s.id} — ${s.title}\n`), s.title);
  t.is(r.stdout.split('\nset -euo pipefail\n').length, 2, 'one preamble for the whole runbook');
});

test('all.mjs --from 04 and --only 07 select steps', async (t) => {
  const from = await run('scripts/all.mjs', ['--from', '04', '--transcript'], { PATH: NODE_ONLY });
  t.is(from.code, 0, from.stderr);
  t.deepEqual(stepsIn(from.stdout), ['04', '05', '06', '07', '08', '09']);
  const only = await run('scripts/all.mjs', ['--only', '07', '--transcript'], { PATH: NODE_ONLY });
  t.is(only.code, 0, only.stderr);
  t.deepEqual(stepsIn(only.stdout), ['07']);
  t.true(only.stdout.includes('cilium clustermesh connect --context cluster-a --destination-context cluster-b'));
  const short = await run('scripts/all.mjs', ['--only=8', '--transcript'], { PATH: NODE_ONLY });
  t.is(short.code, 0, short.stderr);
  t.deepEqual(stepsIn(short.stdout), ['08'], '--only=8 means step 08');
});

test('all.mjs --from 42 exits 2 naming the step and listing the real ones', async (t) => {
  const tools = standInTools([]);
  const r = await run('scripts/all.mjs', ['--from', '42'], { PATH: `${tools.bin}:${NODE_ONLY}` });
  t.is(r.code, 2, r.stdout + r.stderr);
  t.regex(r.stderr, /no step 42/);
  t.regex(r.stderr, /01, 02, 03, 04, 05, 06, 07, 08, 09/);
  t.deepEqual(tools.calls(), []);
});

test('all.mjs: --from with --only, and --from without a value, exit 2', async (t) => {
  const both = await run('scripts/all.mjs', ['--from', '04', '--only', '05', '--transcript'], { PATH: NODE_ONLY });
  t.is(both.code, 2);
  t.regex(both.stderr, /--from and --only/);
  const bare = await run('scripts/all.mjs', ['--from'], { PATH: NODE_ONLY });
  t.is(bare.code, 2);
  t.regex(bare.stderr, /--from needs a value/);
});

test('the transcript of all.mjs runs to its end in bash with stand-in kubectl, cilium and curl', async (t) => {
  const r = await run('scripts/all.mjs', ['--transcript'], { PATH: NODE_ONLY });
  t.is(r.code, 0, r.stderr);
  const tools = standInTools(config.clusters.map((c) => c.echoPage));
  const cwd = tempDir('runbook-transcript-');
  const res = spawnSync('bash', ['-s'], {
    input: r.stdout, cwd, encoding: 'utf8', timeout: scaled(15_000),
    env: { PATH: `${tools.bin}:/usr/bin:/bin`, HOME: cwd, LC_ALL: 'C' },
  });
  t.is(res.status, 0, res.stderr);
  const calls = tools.calls();
  const first = calls.map((c) => c.argv.slice(0, 4).join(' '));
  t.is(first[0], 'kubectl --context cluster-a version', 'the preflight first, as its check runs it');
  t.true(first.includes('cilium install --context cluster-a'));
  t.true(first.includes('cilium clustermesh connect --context'));
  const creates = calls.filter((c) => c.argv.join(' ') === 'kubectl --context cluster-b create -f -');
  t.is(creates.length, 1, 'the CA is created on B once');
  const applies = calls.filter((c) => c.argv.includes('apply'));
  t.deepEqual(applies.map((c) => c.stdin), HEREDOCS.all.filter((h) => h.line.includes('apply')).map((h) => h.manifest.yaml.trimEnd()),
    'kubectl apply read each manifest on stdin');
  for (const c of config.clusters) {
    const values = ciliumValues(config, c);
    t.is(fs.readFileSync(path.join(cwd, values.name), 'utf8'), values.yaml);
  }
});
