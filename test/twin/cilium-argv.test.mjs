// @ts-check
// The cilium stand-in's command line, without a cluster: cobra/pflag parsing
// driven by flags.json, the real error texts and exit codes, and the checks the
// CLI makes before it talks to the API server.
import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgv, parseDuration, formatDuration, UsageError, HelpRequest, FLAGS } from '../../twin/cilium/argv.mjs';
import { scaled } from '../support/time.mjs';

const BIN = fileURLToPath(new URL('../../twin/bin/cilium', import.meta.url));

/**
 * @param {string[]} args @param {Record<string, string>} [env]
 * @returns {Promise<{ code: number, stdout: string, stderr: string }>}
 */
function cilium(args, env = {}) {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { ...process.env, KUBECONFIG: '', HOME: tmpdir(), ...env }, timeout: scaled(20_000) }, (err, stdout, stderr) => {
      resolve({ code: err ? Number(/** @type {any} */ (err).code) : 0, stdout, stderr });
    });
  });
}

/** @param {() => void} fn */
function usageError(fn) {
  try { fn(); } catch (e) { if (e instanceof UsageError) return e.message; throw e; }
  throw new Error('no usage error');
}

test('global flags anywhere, --flag value and --flag=value', (t) => {
  const p = parseArgv(['--context', 'cluster-a', 'clustermesh', '--namespace=cilium', 'enable', '--service-type', 'LoadBalancer']);
  t.deepEqual(p.path, ['clustermesh', 'enable']);
  t.is(p.values['--context'], 'cluster-a');
  t.is(p.values['--namespace'], 'cilium');
  t.is(p.values['--service-type'], 'LoadBalancer');
  const q = parseArgv(['clustermesh', 'status', '--context=cluster-b', '-o', 'json']);
  t.is(q.values['--context'], 'cluster-b');
  t.is(q.values['--output'], 'json');
});

test('defaults come from the fact list and the CLI', (t) => {
  const p = parseArgv(['install']);
  t.is(p.values['--namespace'], 'kube-system');
  t.is(p.values['--helm-release-name'], 'cilium');
  t.is(p.values['--version'], 'v1.19.5');
  t.is(p.values['--wait-duration'], 5 * 60_000);
  t.is(parseArgv(['clustermesh', 'status']).values['--wait-duration'], 15 * 60_000);
  t.is(parseArgv(['uninstall']).values['--timeout'], 5 * 60_000);
  t.is(parseArgv(['status']).values['--interactive'], true);
  t.is(parseArgv(['upgrade']).values['--reset-then-reuse-values'], true);
  t.is(parseArgv(['clustermesh', 'connect']).values['--connection-mode'], 'bidirectional');
});

test('aliases are normalised: -f, --helm-values, --helm-set*, -o, -n, -r', (t) => {
  const p = parseArgv(['upgrade', '-f', 'a.yaml', '--helm-values', 'b.yaml,c.yaml', '--helm-set', 'x=1', '--set', 'y=2',
    '--helm-set-string', 's=1', '--helm-set-file', 'k=f.txt', '-n', 'ns1', '-r']);
  t.deepEqual(p.values['--values'], ['a.yaml', 'b.yaml', 'c.yaml']);
  t.deepEqual(p.values['--set'], ['x=1', 'y=2']);
  t.deepEqual(p.values['--set-string'], ['s=1']);
  t.deepEqual(p.values['--set-file'], ['k=f.txt']);
  t.is(p.values['--namespace'], 'ns1');
  t.is(p.values['--restart'], true);
  t.is(parseArgv(['status', '-ojson']).values['--output'], 'json');
  t.is(parseArgv(['status', '-o=json']).values['--output'], 'json');
});

test('stringArray keeps commas, stringSlice splits them (CSV), both repeat', (t) => {
  const p = parseArgv(['install', '--set', 'hubble.metrics.enabled={dns,drop}', '--set', 'a=b,c=d']);
  t.deepEqual(p.values['--set'], ['hubble.metrics.enabled={dns,drop}', 'a=b,c=d']);
  const q = parseArgv(['clustermesh', 'connect', '--destination-context', 'b,c', '--destination-context', 'd', '--destination-endpoint', '"1.2.3.4:2379"']);
  t.deepEqual(q.values['--destination-context'], ['b', 'c', 'd']);
  t.deepEqual(q.values['--destination-endpoint'], ['1.2.3.4:2379']);
  t.deepEqual(parseArgv(['--as-group', 'g1', '--as-group', 'g2', 'status']).values['--as-group'], ['g1', 'g2']);
});

test('bools: bare, =true/=false, other ParseBool spellings', (t) => {
  t.is(parseArgv(['status', '--wait']).values['--wait'], true);
  t.is(parseArgv(['status', '--wait=false']).values['--wait'], false);
  t.is(parseArgv(['status', '--interactive=0']).values['--interactive'], false);
  t.is(parseArgv(['status', '--interactive=T']).values['--interactive'], true);
  const p = parseArgv(['status', '--wait', 'false']);
  t.is(p.values['--wait'], true, 'a bool never takes the next word');
  t.deepEqual(p.args, ['false']);
  t.is(usageError(() => parseArgv(['status', '--wait=yes'])),
    'invalid argument "yes" for "--wait" flag: strconv.ParseBool: parsing "yes": invalid syntax');
  t.is(usageError(() => parseArgv(['upgrade', '--restart=maybe'])),
    'invalid argument "maybe" for "-r, --restart" flag: strconv.ParseBool: parsing "maybe": invalid syntax');
});

test('Go durations', (t) => {
  t.is(parseDuration('90s'), 90_000);
  t.is(parseDuration('5m'), 300_000);
  t.is(parseDuration('1m30s'), 90_000);
  t.is(parseDuration('5m0s'), 300_000);
  t.is(parseDuration('1.5h'), 5_400_000);
  t.is(parseDuration('300ms'), 300);
  t.is(parseDuration('0'), 0);
  t.is(parseArgv(['status', '--wait-duration', '1m30s']).values['--wait-duration'], 90_000);
  t.throws(() => parseDuration('5'), { message: 'time: missing unit in duration "5"' });
  t.throws(() => parseDuration('5x'), { message: 'time: unknown unit "x" in duration "5x"' });
  t.throws(() => parseDuration('abc'), { message: 'time: invalid duration "abc"' });
  t.is(usageError(() => parseArgv(['clustermesh', 'status', '--wait-duration=10'])),
    'invalid argument "10" for "--wait-duration" flag: time: missing unit in duration "10"');
  t.is(formatDuration(300_000), '5m0s');
  t.is(formatDuration(900_000), '15m0s');
  t.is(formatDuration(3_600_000), '1h0m0s');
  t.is(formatDuration(1500), '1.5s');
  t.is(formatDuration(0), '0s');
});

test('ints are parsed like strconv.ParseInt(s, 0, 64)', (t) => {
  t.is(parseArgv(['clustermesh', 'connect', '--parallel', '0x10']).values['--parallel'], 16);
  t.is(parseArgv(['install', '--history-max=3']).values['--history-max'], 3);
  t.is(usageError(() => parseArgv(['clustermesh', 'connect', '--parallel', 'two'])),
    'invalid argument "two" for "--parallel" flag: strconv.ParseInt: parsing "two": invalid syntax');
});

test('unknown flags, missing arguments, unknown commands: pflag/cobra texts', (t) => {
  t.is(usageError(() => parseArgv(['install', '--nope'])), 'unknown flag: --nope');
  t.is(usageError(() => parseArgv(['install', '--nope=1'])), 'unknown flag: --nope');
  t.is(usageError(() => parseArgv(['status', '--set', 'a=b'])), 'unknown flag: --set', 'a flag of another command');
  t.is(usageError(() => parseArgv(['status', '-x'])), "unknown shorthand flag: 'x' in -x");
  t.is(usageError(() => parseArgv(['status', '--context'])), 'flag needs an argument: --context');
  t.is(usageError(() => parseArgv(['status', '-n'])), "flag needs an argument: 'n' in -n");
  t.is(usageError(() => parseArgv(['destroy'])), 'unknown command "destroy" for "cilium"');
  t.is(usageError(() => parseArgv(['statsu'])), 'unknown command "statsu" for "cilium"\n\nDid you mean this?\n\tstatus\n');
});

test('--help and -h anywhere ask for help', (t) => {
  const e = t.throws(() => parseArgv(['clustermesh', 'connect', '--help']), { instanceOf: HelpRequest });
  t.deepEqual(/** @type {HelpRequest} */ (e).path, ['clustermesh', 'connect']);
  t.throws(() => parseArgv(['-h']), { instanceOf: HelpRequest });
  t.throws(() => parseArgv(['help', 'install']), { instanceOf: HelpRequest });
});

test('every flag of the fact list parses on its command', (t) => {
  for (const [cmd, flags] of Object.entries(FLAGS.commands)) {
    for (const [flag, type] of Object.entries(flags)) {
      const canonical = type.startsWith('-') ? type : flag;
      const kind = type.startsWith('-') ? flags[type] : type;
      const value = { bool: 'true', int: '3', duration: '2m', string: 'x', stringArray: 'x', stringSlice: 'x' }[kind] ?? 'x';
      const p = parseArgv([...cmd.split(' '), `${flag}=${value}`]);
      t.true(p.changed.has(canonical), `${cmd} ${flag}`);
    }
  }
});

test('process: unknown flag prints the bare pflag error on stderr, exit 1', async (t) => {
  const r = await cilium(['install', '--bogus']);
  t.is(r.code, 1);
  t.is(r.stderr, 'unknown flag: --bogus\n');
  t.is(r.stdout, '');
});

test('process: unknown command, exit 1; help, exit 0', async (t) => {
  const r = await cilium(['frobnicate']);
  t.is(r.code, 1);
  t.is(r.stderr, 'unknown command "frobnicate" for "cilium"\n');
  const h = await cilium(['clustermesh', 'status', '--help']);
  t.is(h.code, 0);
  t.regex(h.stdout, /Usage:\n {2}cilium clustermesh status \[flags\]/);
  t.regex(h.stdout, /--wait-duration duration +Maximum time to wait \(default 15m0s\)/);
  const g = await cilium(['clustermesh']);
  t.is(g.code, 0);
  t.regex(g.stdout, /Available Commands:/);
});

test('process: version --client needs no cluster', async (t) => {
  const r = await cilium(['version', '--client']);
  t.is(r.code, 0);
  t.deepEqual(r.stdout.split('\n').slice(0, 3).map((l) => l.replace(/go[\d.]+ on [a-z0-9/]+/, 'GO')), [
    'cilium-cli: v0.19.7 compiled with GO',
    'cilium image (default): v1.19.5',
    'cilium image (stable): unknown',
  ]);
});

test('process: kubeconfig problems are returned errors (no "Error:" prefix)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cilium-argv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const r = await cilium(['status', '--kubeconfig', join(dir, 'missing.yaml')]);
  t.is(r.code, 1);
  t.is(r.stderr, `unable to create Kubernetes client: stat ${join(dir, 'missing.yaml')}: no such file or directory\n`);
  const kc = join(dir, 'kc.yaml');
  await writeFile(kc, closedPortKubeconfig());
  const c = await cilium(['status', '--kubeconfig', kc, '--context', 'nope']);
  t.is(c.code, 1);
  t.is(c.stderr, 'unable to create Kubernetes client: context "nope" does not exist\n');
  const e = await cilium(['status'], { KUBECONFIG: join(dir, 'none.yaml') });
  t.is(e.stderr, 'unable to create Kubernetes client: invalid configuration: no configuration has been provided, try setting KUBERNETES_MASTER environment variable\n');
});

test('process: checks made before any API call', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'cilium-argv-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const kc = join(dir, 'kc.yaml');
  await writeFile(kc, closedPortKubeconfig());
  const env = { KUBECONFIG: kc };
  const st = await cilium(['clustermesh', 'enable', '--service-type', 'Foo'], env);
  t.is(st.code, 1);
  t.is(st.stderr, '\nError: Unable to enable ClusterMesh: service type "Foo" is not valid\n');
  const auto = await cilium(['clustermesh', 'enable'], env);
  t.is(auto.stderr, "\nError: Unable to enable ClusterMesh: cannot auto-detect service type, please specify using '--service-type' option\n");
  const mode = await cilium(['clustermesh', 'connect', '--connection-mode', 'star', '--destination-context', 'x'], env);
  t.is(mode.code, 1);
  t.is(mode.stdout, '❌ star is not a correct connection mode.\nAvailable connection modes: bidirectional, mesh, unicast\n');
  t.is(mode.stderr, '\nError: Unable to connect cluster: Bad connection mode\n');
  const disc = await cilium(['clustermesh', 'disconnect'], env);
  t.is(disc.stderr, '\nError: Unable to disconnect clusters: no destination context specified, use --destination-context to specify which cluster to disconnect from\n');
  const ver = await cilium(['install', '--version', '1.99.0'], env);
  t.is(ver.code, 1);
  t.is(ver.stderr, 'chart "cilium" version "1.99.0" not found in https://helm.cilium.io repository\n');
  const bad = await cilium(['install', '--version', 'latest'], env);
  t.is(bad.stderr, 'Invalid character(s) found in major number "0latest"\n', 'semver.ParseTolerant prefixes a 0');
  const down = await cilium(['version'], env);
  t.is(down.code, 0);
  t.regex(down.stdout, /cilium image \(running\): unknown\. Unable to obtain cilium version\. Reason: Kubernetes cluster unreachable: Get "https:\/\/127\.0\.0\.1:1\/version": dial tcp 127\.0\.0\.1:1: connect: connection refused\n/);
});

/** A kubeconfig whose server is a closed loopback port. */
function closedPortKubeconfig() {
  return [
    'apiVersion: v1', 'kind: Config', 'current-context: a',
    'clusters:', '- name: a', '  cluster:', '    server: https://127.0.0.1:1', '    insecure-skip-tls-verify: true',
    'users:', '- name: a', '  user:', '    token: t',
    'contexts:', '- name: a', '  context:', '    cluster: a', '    user: a', '',
  ].join('\n');
}
