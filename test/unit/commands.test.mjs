// @ts-check
// The exact commands every step declares for a config: argv as the process gets
// it (tool + args), stdin and files, waits with their timeouts, and the bash
// that --transcript, --dry-run and --help print, which is read from the same
// declaration. Nothing here runs a process except bash on the transcript.
import test from 'ava';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { STEPS } from '../../scripts/steps.mjs';
import { ciliumValues } from '../../scripts/lib/manifests.mjs';
import { meshPool } from '../../scripts/04-mesh-pools.mjs';
import { appPool } from '../../scripts/05-app-pools.mjs';
import { echoApp } from '../../scripts/08-deploy-echo.mjs';
import { actionsOf as planActions, isCode, isLanes, transcriptOf } from '../../scripts/lib/plan.mjs';
import { transcript } from '../../scripts/lib/step.mjs';
import { DROP_SERVER_FIELDS } from '../../scripts/lib/share-ca.mjs';
import { articleConfig, otherConfig, makeConfig, kubeInfo, standInTools, tempDir } from '../support/config-fixture.mjs';
import { scaled } from '../support/time.mjs';

/** @typedef {import('../../scripts/lib/types.js').Config} Config */
/** @typedef {import('../../scripts/lib/actions.js').Action} Action */
/** @typedef {import('../../scripts/lib/actions.js').Command} Command */
/** @typedef {import('../../scripts/lib/actions.js').Item} Item */

const article = articleConfig();
const other = otherConfig();
const nodePort = makeConfig({ MESH_SERVICE_TYPE: 'NodePort' });

/** @param {Config} config @param {string} id @param {string[]} [flags] */
function actionsOf(config, id, flags = []) {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return planActions(step.actions(config, { flags: new Set(flags) }));
}

/** @param {Config} config @param {string} id */
function plansOf(config, id) {
  const step = STEPS.find((s) => s.id === id);
  if (!step) throw new Error(`no step ${id}`);
  return step.actions(config, { flags: new Set() });
}

/** The commands among items (code items have their own bash). @param {Item[] | undefined} items @returns {Command[]} */
const commands = (items) => /** @type {Command[]} */ ((items ?? []).filter((i) => !isCode(i)));
/** @param {Command} cmd */
const argv = (cmd) => [cmd.tool, ...cmd.args];
/** @param {Item[] | undefined} items */
const argvs = (items) => commands(items).map(argv);
/** @param {string} line */
const words = (line) => line.split(' ');
/** An action's bash, one string. @param {Action} a */
const bash = (a) => transcriptOf(a).join('\n');

test('steps.mjs lists the nine steps in order, each from its own script', (t) => {
  t.deepEqual(STEPS.map((s) => s.id), ['01', '02', '03', '04', '05', '06', '07', '08', '09']);
  for (const s of STEPS) {
    t.true(s.name.startsWith(`${s.id}-`), s.name);
    t.true(s.file.endsWith(`/scripts/${s.name}.mjs`), s.file);
    t.true(s.title.length > 0);
  }
});

test('01: the preflight\'s three probes are its transcript; cilium install with the values file, then cilium status --wait', (t) => {
  const [preflight, install, ...rest] = actionsOf(article, '01');
  t.is(rest.length, 0);
  t.deepEqual(preflight.run ?? [], [], 'the preflight only reads');
  t.deepEqual(transcriptOf(preflight), ['kubectl --context cluster-a version -o json',
    'HTTPS_PROXY=http://127.0.0.1:0 cilium version --client', 'kubectl --context cluster-a get nodes -o wide']);
  const values = ciliumValues(article, article.a);
  t.deepEqual(transcriptOf({ ...install, verify: [] }), [
    `cat > ${values.name} <<'EOF'\n${values.yaml}EOF\ncilium install --context cluster-a --version 1.19.3 --values ${values.name}`]);
  t.deepEqual(argvs(install.verify), [words('cilium status --context cluster-a --wait --wait-duration 300s --interactive=false')]);
  t.is(commands(install.verify)[0].wait?.timeout, 300);
});

test('03: the same install on cluster B, with B\'s values file', (t) => {
  const [install, ...rest] = actionsOf(article, '03');
  t.is(rest.length, 0);
  const values = ciliumValues(article, article.b);
  t.true(bash(install).includes(`cat > cilium-values-cluster-b.yaml <<'EOF'\n${values.yaml}EOF\n` +
    'cilium install --context cluster-b --version 1.19.3 --values cilium-values-cluster-b.yaml'), bash(install));
  t.deepEqual(argvs(install.verify), [words('cilium status --context cluster-b --wait --wait-duration 300s --interactive=false')]);
});

test('02: the transcript pipes the Secret from A through an anchored sed into create on B', (t) => {
  const [share, ...rest] = actionsOf(article, '02');
  t.is(rest.length, 0);
  t.deepEqual(transcriptOf(share), [
    '# The Secret holds the CA key: pipe it, never save it to a file.',
    "kubectl --context cluster-a get secret -n kube-system cilium-ca -o yaml \\\n" +
      "  | sed -e '/^  resourceVersion: /d' -e '/^  uid: /d' -e '/^  creationTimestamp: /d' \\\n" +
      '  | kubectl --context cluster-b create -f -',
  ]);
  // The run deletes the same lines in memory (apply-diff.test.mjs holds dropServerFields to this sed).
  t.true(transcriptOf(share)[1].includes(`| ${DROP_SERVER_FIELDS} \\\n`));
});

test('04: per cluster, side by side: wait for the CRDs to exist and be Established, then apply the mesh pool and L2 policy by stdin', (t) => {
  const [plan, ...more] = plansOf(article, '04');
  t.is(more.length, 0);
  if (!isLanes(plan)) return t.fail('step 04 runs its clusters side by side');
  t.is(plan.lanes.length, 2);
  for (const [[crd, pool, ...rest], c] of /** @type {const} */ ([[plan.lanes[0], article.a], [plan.lanes[1], article.b]])) {
    t.is(rest.length, 0);
    const crds = 'crd/ciliumloadbalancerippools.cilium.io crd/ciliuml2announcementpolicies.cilium.io';
    t.deepEqual(argvs(crd.verify), [words(`kubectl --context ${c.context} wait --for=condition=Established ${crds} --timeout=120s`)]);
    t.is(commands(crd.verify)[0].wait?.timeout, 120);
    // kubectl wait fails at once on a CRD that does not exist yet: the bash polls for them first.
    t.regex(bash(crd), new RegExp(`^for i in \\$\\(seq 1 120\\); do\\s+kubectl --context ${c.context} get ${crds} [^\\n]*&& break\\s+sleep 1\\s+done\\nkubectl --context ${c.context} wait`));
    t.deepEqual(argvs(pool.run), [words(`kubectl --context ${c.context} apply -f -`)]);
    t.is(commands(pool.run)[0].stdin?.yaml, meshPool(c).yaml);
    t.is(commands(pool.run)[0].files, undefined);
  }
});

test('05: apply each cluster\'s app pool by stdin, side by side', (t) => {
  const [plan] = plansOf(article, '05');
  if (!isLanes(plan)) return t.fail('step 05 runs its clusters side by side');
  for (const [[action], c] of /** @type {const} */ ([[plan.lanes[0], article.a], [plan.lanes[1], article.b]])) {
    t.deepEqual(argvs(action.run), [words(`kubectl --context ${c.context} apply -f -`)]);
    t.is(commands(action.run)[0].stdin?.yaml, appPool(c).yaml);
    t.deepEqual(action.verify ?? [], []);
  }
});

test('06 LoadBalancer: clustermesh enable with the type, wait for the mesh IP, then clustermesh status, side by side', (t) => {
  t.true(isLanes(plansOf(article, '06')[0]));
  const actions = actionsOf(article, '06');
  t.is(actions.length, 2);
  for (const [action, c] of /** @type {const} */ ([[actions[0], article.a], [actions[1], article.b]])) {
    t.deepEqual(argvs(action.run), [words(`cilium clustermesh enable --context ${c.context} --service-type LoadBalancer`)]);
    t.deepEqual(commands(action.run)[0].helm, [c], 'a Helm operation on its own cluster');
    t.deepEqual(argvs(action.verify), [
      ['kubectl', '--context', c.context, 'wait', '-n', 'kube-system',
        `--for=jsonpath={.status.loadBalancer.ingress[0].ip}=${c.meshIp}`, 'svc/clustermesh-apiserver', '--timeout=120s'],
      words(`cilium clustermesh status --context ${c.context} --wait --wait-duration 300s`),
    ]);
  }
  t.is(commands(actions[0].verify)[0].args[5], '--for=jsonpath={.status.loadBalancer.ingress[0].ip}=192.168.254.220');
  t.is(commands(actions[1].verify)[0].args[5], '--for=jsonpath={.status.loadBalancer.ingress[0].ip}=192.168.254.221');
});

test('06 NodePort: clustermesh enable --service-type NodePort and no wait for an IP', (t) => {
  const actions = actionsOf(nodePort, '06');
  for (const [action, c] of /** @type {const} */ ([[actions[0], nodePort.a], [actions[1], nodePort.b]])) {
    t.deepEqual(argvs(action.run), [words(`cilium clustermesh enable --context ${c.context} --service-type NodePort`)]);
    t.deepEqual(argvs(action.verify), [words(`cilium clustermesh status --context ${c.context} --wait --wait-duration 300s`)]);
    t.false(bash(action).includes('jsonpath'));
  }
});

test('07: clustermesh connect from A with --destination-context B, then status --wait on both', (t) => {
  const [connect, ...rest] = actionsOf(article, '07');
  t.is(rest.length, 0);
  t.deepEqual(argvs(connect.run), [words('cilium clustermesh connect --context cluster-a --destination-context cluster-b')]);
  t.deepEqual(commands(connect.run)[0].helm, [article.a, article.b], 'a Helm upgrade on both clusters');
  t.deepEqual(argvs(connect.verify), [
    words('cilium clustermesh status --context cluster-a --wait --wait-duration 300s'),
    words('cilium clustermesh status --context cluster-b --wait --wait-duration 300s'),
  ]);
});

test('08: apply echo by stdin, wait for the rollout and the LoadBalancer IP on both; then ask each VIP', (t) => {
  const [deploys, vips, ...rest] = plansOf(article, '08');
  t.is(rest.length, 0);
  // Both deployments first: with affinity remote a VIP answers from the other cluster's pods.
  if (!isLanes(deploys) || !isLanes(vips)) return t.fail('step 08 runs its clusters side by side');
  for (const [[deploy], [vip], c] of /** @type {const} */ ([[deploys.lanes[0], vips.lanes[0], article.a], [deploys.lanes[1], vips.lanes[1], article.b]])) {
    t.deepEqual(argvs(deploy.run), [words(`kubectl --context ${c.context} apply -f -`)]);
    t.is(commands(deploy.run)[0].stdin?.yaml, echoApp(article, c).yaml);
    t.deepEqual(argvs(deploy.verify), [
      words(`kubectl --context ${c.context} rollout status -n echo deployment/echo --timeout=180s`),
      words(`kubectl --context ${c.context} wait -n echo --for=jsonpath={.status.loadBalancer.ingress[0].ip} svc/echo --timeout=120s`),
    ]);
    t.deepEqual(commands(deploy.verify).map((v) => v.wait?.timeout), [180, 120]);
    const lines = transcriptOf(vip);
    t.is(lines[0], `ip=$(kubectl --context ${c.context} get svc -n echo echo -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')`);
    t.true(lines.includes(`grep -m 1 -oE '${c.echoPage}' <<<"$page"`), lines.join('\n'));
    t.true(lines.some((l) => l.includes('curl -s --max-time 5 http://$ip/')), lines.join('\n'));
  }
});

test('09: the transcript checks B answers on B\'s VIP, scales B to 0, waits for A\'s page 3 times in a row, scales back, waits for B, records the drill', (t) => {
  const [drill, ...rest] = actionsOf(article, '09');
  t.is(rest.length, 0);
  const lines = transcriptOf(drill).join('\n').split('\n');
  const at = (/** @type {string} */ l, from = 0) => {
    const i = lines.indexOf(l, from);
    t.not(i, -1, `missing: ${l}\n${lines.join('\n')}`);
    return i;
  };
  const ip = at("ip=$(kubectl --context cluster-b get svc -n echo echo -o 'jsonpath={.status.loadBalancer.ingress[0].ip}')");
  const before = at(`grep -m 1 -oE 'Cluster B' <<<"$page"`);
  const down = at('kubectl --context cluster-b scale -n echo deployment/echo --replicas=0');
  const inARow = at('while [ "$ok" -lt 3 ] && [ "$SECONDS" -lt "$end" ]; do', down);
  const fromA = at(`grep -m 1 -oE 'Cluster A' <<<"$page"`);
  const up = at('kubectl --context cluster-b scale -n echo deployment/echo --replicas=1');
  const rollout = at('kubectl --context cluster-b rollout status -n echo deployment/echo --timeout=180s');
  const fromB = lines.lastIndexOf(`grep -m 1 -oE 'Cluster B' <<<"$page"`);
  const record = lines.findIndex((l) => l.startsWith('kubectl --context cluster-b annotate -n echo deployment/echo --overwrite'));
  t.true(ip < before && before < down && down < inARow && inARow < fromA && fromA < up && up < rollout && rollout < fromB && fromB < record,
    'in that order');
  t.true(lines.includes('ok=0 failed=0 end=$((SECONDS + 120))'), 'waits up to TIMEOUT_FAILOVER');
});

test('a config where every value differs: the commands carry its values', (t) => {
  const [install] = actionsOf(other, '03');
  t.true(bash(install).includes('cilium install --context lab-west --version 1.18.6 --values cilium-values-lab-west.yaml'), bash(install));
  t.deepEqual(argvs(install.verify), [words('cilium status --context lab-west --wait --wait-duration 420s --interactive=false')]);
  const [enable] = actionsOf(other, '06');
  t.deepEqual(argvs(enable.run), [words('cilium clustermesh enable --context lab-east --service-type NodePort')]);
  t.deepEqual(argvs(enable.verify), [words('cilium clustermesh status --context lab-east --wait --wait-duration 240s')]);
  const [connect] = actionsOf(other, '07');
  t.deepEqual(argvs(connect.run), [words('cilium clustermesh connect --context lab-east --destination-context lab-west')]);
  const [deploy] = actionsOf(other, '08');
  t.deepEqual(argvs(deploy.verify), [
    words('kubectl --context lab-east rollout status -n demo-failover deployment/hello --timeout=100s'),
    words('kubectl --context lab-east wait -n demo-failover --for=jsonpath={.status.loadBalancer.ingress[0].ip} svc/hello --timeout=90s'),
  ]);
  const [crd] = actionsOf(other, '04');
  t.deepEqual(argvs(crd.verify), [words('kubectl --context lab-east wait --for=condition=Established ' +
    'crd/ciliumloadbalancerippools.cilium.io crd/ciliuml2announcementpolicies.cilium.io --timeout=90s')]);
  const [drill] = actionsOf(other, '09');
  const lines = bash(drill).split('\n');
  t.true(lines.includes('kubectl --context lab-west scale -n demo-failover deployment/hello --replicas=0'));
  t.true(lines.includes('kubectl --context lab-west scale -n demo-failover deployment/hello --replicas=3'));
  t.true(lines.includes('ok=0 failed=0 end=$((SECONDS + 45))'), lines.join('\n'));
  t.true(lines.some((l) => l.includes('curl -s --max-time 3 http://$ip:8080/')), lines.join('\n'));
  t.true(lines.includes(`grep -m 1 -oE 'East side' <<<"$page"`), lines.join('\n'));
  const [share] = actionsOf(other, '02');
  t.regex(transcriptOf(share)[1] ?? '', /^kubectl --context lab-east get secret .*\n.*\n {2}\| kubectl --context lab-west create -f -$/);
});

/** Every command and transcript line of every step for a config. @param {Config} config */
function everything(config) {
  /** @type {Array<{ step: string, action: Action, cmd: Command }>} */
  const found = [];
  /** @type {Array<{ step: string, line: string }>} */
  const lines = [];
  for (const step of STEPS) {
    for (const flags of [[], ['keep-down'], ['again']]) {
      for (const action of planActions(step.actions(config, { flags: new Set(flags) }))) {
        for (const cmd of commands([...(action.run ?? []), ...(action.verify ?? [])])) found.push({ step: step.id, action, cmd });
        for (const text of transcriptOf(action)) {
          for (const line of text.split('\n')) lines.push({ step: step.id, line });
        }
      }
    }
  }
  return { commands: found, lines };
}

for (const [label, config] of /** @type {const} */ ([['article', article], ['every value differs', other], ['NodePort', nodePort]])) {
  test(`${label}: every kubectl and cilium command names its cluster's context; no --contect anywhere`, (t) => {
    const { commands, lines } = everything(config);
    t.true(commands.length > 10);
    const contexts = [config.a.context, config.b.context];
    for (const { step, action, cmd } of commands) {
      const where = `${step} ${action.title}: ${argv(cmd).join(' ')}`;
      if (cmd.tool === 'cilium' && cmd.args.join(' ') === 'version --client') continue; // the client alone
      const i0 = cmd.args.indexOf('--context');
      const context = i0 === -1 ? '(none)' : cmd.args[i0 + 1];
      if (cmd.tool === 'kubectl') {
        t.deepEqual(cmd.args.slice(0, 2), ['--context', context], where);
      } else {
        const i = cmd.args.indexOf('--context');
        t.not(i, -1, where);
        t.is(cmd.args[i + 1], context, where);
      }
      t.is(cmd.args.filter((a) => a === '--context').length, 1, `${where}: one --context`);
      t.true(contexts.includes(context), where);
      t.false(cmd.args.some((a) => /contect/.test(a)), where);
      if (cmd.wait) {
        const timeoutArg = cmd.args.find((a) => a.startsWith('--timeout=')) ??
          `--timeout=${cmd.args[cmd.args.indexOf('--wait-duration') + 1]}`;
        t.is(timeoutArg, `--timeout=${cmd.wait.timeout}s`, `${where}: the shown timeout is the one passed`);
      }
    }
    for (const { step, line } of lines) {
      t.false(/contect/.test(line), `${step}: ${line}`);
      if (line.trimStart().startsWith('#')) continue;
      for (const m of line.matchAll(/\bkubectl\b(.*)/g)) {
        const rest = m[1];
        t.true(rest.startsWith(' --context '), `${step}: every kubectl in the transcript names a context: ${line}`);
        const ctx = /^ --context (\S+)/.exec(rest)?.[1] ?? '';
        t.true(contexts.includes(ctx), `${step}: ${line}`);
      }
      for (const m of line.matchAll(/\bcilium (install|status|clustermesh|upgrade|uninstall)\b(.*)/g)) {
        t.regex(m[2], / --context \S/, `${step}: ${line}`);
      }
    }
  });
}

test('no step upgrades Cilium in place (cilium upgrade --set would drop the mesh config)', (t) => {
  for (const config of [article, other]) {
    const { commands, lines } = everything(config);
    for (const { cmd } of commands) t.false(cmd.tool === 'cilium' && cmd.args[0] === 'upgrade', argv(cmd).join(' '));
    for (const { line } of lines) t.false(/\bcilium upgrade\b/.test(line), line);
  }
});

test('step options reach the actions: only 09 has flags; --keep-down leaves the restore out of its transcript, --again changes nothing there', (t) => {
  t.deepEqual(STEPS.filter((s) => s.options?.length).map((s) => s.id), ['09']);
  t.deepEqual(STEPS.find((s) => s.id === '09')?.options?.map((o) => o.flag), ['keep-down', 'again']);
  const plain = bash(actionsOf(article, '09')[0]);
  t.is(bash(actionsOf(article, '09', ['again'])[0]), plain);
  const down = bash(actionsOf(article, '09', ['keep-down'])[0]);
  t.true(down.includes('scale -n echo deployment/echo --replicas=0'));
  t.false(down.includes('--replicas=1\n'), down);
});

/**
 * Runs the whole transcript for a config in bash, in an empty folder, with
 * stand-in kubectl, cilium and curl first on PATH.
 * @param {Config} config
 */
function runTranscript(config) {
  const tools = standInTools(config.clusters.map((c) => c.echoPage));
  const cwd = tempDir('runbook-transcript-');
  const res = spawnSync('bash', ['-s'], {
    input: transcript(STEPS, config, new Set()),
    cwd,
    encoding: 'utf8',
    env: { PATH: `${tools.bin}:/usr/bin:/bin`, HOME: cwd, LC_ALL: 'C' },
    timeout: scaled(20_000),
  });
  return { ...res, cwd, calls: tools.calls() };
}

/** Is `sub` a subsequence of `seq` (by JSON equality)? @param {any[]} sub @param {any[]} seq */
function subsequence(sub, seq) {
  let i = 0;
  for (const x of seq) if (i < sub.length && JSON.stringify(x) === JSON.stringify(sub[i])) i++;
  return i === sub.length;
}

for (const [label, config] of /** @type {const} */ ([['article', article], ['every value differs', other]])) {
  test(`${label}: the transcript runs to its end in bash and passes the tools the argv the steps build`, (t) => {
    const run = runTranscript(config);
    t.is(run.status, 0, run.stderr);
    const tools = run.calls.filter((c) => c.argv[0] !== 'curl');
    // Every kubectl/cilium call names one of the two contexts, as one word.
    const contexts = [config.a.context, config.b.context];
    for (const { argv: call } of tools) {
      if (call.join(' ') === 'cilium version --client') continue;
      const i = call.indexOf('--context');
      t.not(i, -1, call.join(' '));
      t.true(contexts.includes(call[i + 1]), call.join(' '));
    }
    // Every command of an action without its own transcript reached its tool, in order, with its stdin.
    /** @type {Array<{ argv: string[], stdin?: string }>} */
    const expected = [];
    for (const step of STEPS) {
      for (const action of planActions(step.actions(config, { flags: new Set() }))) {
        for (const cmd of commands([...(action.run ?? []), ...(action.verify ?? [])])) {
          expected.push(cmd.stdin ? { argv: argv(cmd), stdin: cmd.stdin.yaml.trimEnd() } : { argv: argv(cmd) });
        }
      }
    }
    t.true(expected.length >= 20);
    t.true(subsequence(expected, tools), 'the commands, in order');
    // The values files were written by the heredocs, byte for byte.
    for (const c of config.clusters) {
      const values = ciliumValues(config, c);
      t.is(fs.readFileSync(path.join(run.cwd, values.name), 'utf8'), values.yaml);
    }
    // The CA pipe: read on A, create on B.
    t.true(subsequence([
      { argv: ['kubectl', '--context', config.a.context, 'get', 'secret', '-n', 'kube-system', 'cilium-ca', '-o', 'yaml'] },
      { argv: ['kubectl', '--context', config.b.context, 'create', '-f', '-'] },
    ], tools.map((c) => ({ argv: c.argv }))));
  });
}

test('a context with a space is refused by the config, or quoted in every transcript line', (t) => {
  let config;
  try {
    config = makeConfig(
      { CLUSTER_A_CONTEXT: 'lab east', CLUSTER_B_CONTEXT: 'lab west' },
      kubeInfo({ 'lab east': 'https://10.1.1.1:6443', 'lab west': 'https://10.1.1.2:6443' }),
    );
  } catch (err) {
    t.true(err instanceof Error && /CLUSTER_A_CONTEXT/.test(err.message), String(err));
    return;
  }
  const unquoted = transcript(STEPS, config, new Set()).split('\n')
    .filter((l) => !l.trimStart().startsWith('#') && /lab (east|west)/.test(l.replace(/"[^"]*"/g, '""').replace(/'[^']*'/g, "''")));
  t.deepEqual(unquoted, [], 'lines where bash splits the context into two words');
  const run = runTranscript(config);
  t.is(run.status, 0, `the transcript must run as printed:\n${run.stderr}`);
  const split = run.calls.filter(({ argv: call }) => {
    const i = call.indexOf('--context');
    return i !== -1 && !['lab east', 'lab west'].includes(call[i + 1]);
  });
  t.deepEqual(split.map((c) => c.argv.join(' ')), [], 'calls whose context bash split into words');
});
