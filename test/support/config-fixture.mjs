// @ts-check
// Configs for tests, built the way a step script builds them: env.example's
// values (the article's, corrected) plus overrides, checked by buildConfig. A
// config that does not validate throws with every problem, so a test never runs
// on a half-built Config. For child-process runs it writes a temporary env file.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { buildConfig, formatProblems } from '../../scripts/lib/config.mjs';
import { tryReadKubeconfig } from '../../scripts/lib/kubeconfig-read.mjs';

/** @typedef {import('../../scripts/lib/types.js').Config} Config */
/** @typedef {import('../../scripts/lib/config.mjs').KubeconfigInfo} KubeconfigInfo */

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const ENV_EXAMPLE = path.join(ROOT, 'env.example');
/** Contexts cluster-a (https://192.168.254.10:6443) and cluster-b (…11:6443); nothing ever connects to them. */
export const MESH_KUBECONFIG = path.join(ROOT, 'test', 'fixtures', 'kubeconfig', 'mesh.yaml');

const ENV_EXAMPLE_TEXT = fs.readFileSync(ENV_EXAMPLE, 'utf8');

/** env.example's variables, with KUBECONFIG pointing at the mesh fixture. */
export function articleVars() {
  return { ...dotenv.parse(ENV_EXAMPLE_TEXT), KUBECONFIG: MESH_KUBECONFIG };
}

/**
 * A kubeconfig as buildConfig sees it: contexts → servers (cluster entry named like the context).
 * @param {Record<string, string>} servers
 * @returns {KubeconfigInfo}
 */
export const kubeInfo = (servers) => ({
  contexts: new Map(Object.entries(servers).map(([name, server]) => [name, { server, cluster: name }])),
});

/**
 * A validated Config: env.example + overrides. Without `kube`, the kubeconfig
 * that KUBECONFIG names is read (the mesh fixture unless overridden).
 * @param {Record<string, string>} [overrides]
 * @param {KubeconfigInfo} [kube]
 * @returns {Config}
 */
export function makeConfig(overrides = {}, kube) {
  const vars = { ...articleVars(), ...overrides };
  const info = kube ?? tryReadKubeconfig(vars.KUBECONFIG, { home: os.homedir(), cwd: ROOT });
  const result = buildConfig(vars, info, { envFile: null, home: os.homedir(), cwd: ROOT });
  if (!result.config) throw new Error(`test config does not validate:\n${formatProblems(result.problems)}`);
  return result.config;
}

/** The article's setup (env.example), with the mesh fixture kubeconfig. */
export const articleConfig = () => makeConfig();

/**
 * A setup in which every value differs from the article's: any article value
 * found in what it renders leaked from somewhere other than the config.
 */
export const OTHER_VARS = Object.freeze({
  KUBECONFIG: '/nonexistent/other-kubeconfig.yaml',
  CILIUM_VERSION: '1.18.6',
  CLUSTER_A_CONTEXT: 'lab-east',
  CLUSTER_A_NAME: 'east-mesh',
  CLUSTER_A_ID: '17',
  CLUSTER_A_POD_CIDR: '10.128.0.0/16',
  CLUSTER_A_SERVICE_CIDR: '10.200.0.0/16',
  CLUSTER_A_API_HOST: '172.16.5.10',
  CLUSTER_A_API_PORT: '16443',
  CLUSTER_A_MESH_IP: '172.16.9.20',
  CLUSTER_A_APP_POOL_START: '172.16.9.100',
  CLUSTER_A_APP_POOL_STOP: '172.16.9.109',
  CLUSTER_A_ECHO_IMAGE: 'registry.example.org/team/hello:east',
  CLUSTER_A_ECHO_PAGE: 'East side',
  CLUSTER_B_CONTEXT: 'lab-west',
  CLUSTER_B_NAME: 'west-mesh',
  CLUSTER_B_ID: '42',
  CLUSTER_B_POD_CIDR: '10.129.0.0/16',
  CLUSTER_B_SERVICE_CIDR: '10.201.0.0/16',
  CLUSTER_B_API_HOST: '172.16.6.10',
  CLUSTER_B_API_PORT: '16444',
  CLUSTER_B_MESH_IP: '172.16.9.21',
  CLUSTER_B_APP_POOL_START: '172.16.9.110',
  CLUSTER_B_APP_POOL_STOP: '172.16.9.119',
  CLUSTER_B_ECHO_IMAGE: 'registry.example.org/team/hello:west',
  CLUSTER_B_ECHO_PAGE: 'West side',
  MESH_SERVICE_TYPE: 'NodePort',
  HUBBLE_ENABLED: 'true', // the one value that must stay: step 02 needs the CA Hubble's certificates make
  HUBBLE_RELAY_ENABLED: 'false',
  HUBBLE_UI_ENABLED: 'false',
  HUBBLE_METRICS: 'drop,flow:sourceContext=pod',
  ECHO_NAMESPACE: 'demo-failover',
  ECHO_NAME: 'hello',
  ECHO_REPLICAS: '3',
  ECHO_SERVICE_PORT: '8080',
  ECHO_TARGET_PORT: '5678',
  ECHO_AFFINITY: 'remote',
  TIMEOUT_CILIUM: '7m',
  TIMEOUT_RESOURCES: '90s',
  TIMEOUT_MESH: '4m',
  TIMEOUT_ROLLOUT: '100s',
  TIMEOUT_HTTP: '3s',
  TIMEOUT_FAILOVER: '45s',
});

/** The kubeconfig of OTHER_VARS (servers differ from the API hosts on purpose). */
export const OTHER_KUBE = kubeInfo({ 'lab-east': 'https://east.lab.example:8443', 'lab-west': 'https://west.lab.example:8443' });

/** The every-value-differs setup. @param {Record<string, string>} [more] */
export const otherConfig = (more = {}) => makeConfig({ ...OTHER_VARS, ...more }, OTHER_KUBE);

/**
 * env.example's text with KUBECONFIG set to the mesh fixture and each override
 * replacing its line (or appended when env.example has none).
 * @param {Record<string, string>} [overrides]
 */
export function envFileText(overrides = {}) {
  let text = ENV_EXAMPLE_TEXT;
  for (const [name, value] of Object.entries({ KUBECONFIG: MESH_KUBECONFIG, ...overrides })) {
    const line = `${name}=${value}`;
    const re = new RegExp(`^${name}=.*$`, 'm');
    text = re.test(text) ? text.replace(re, () => line) : `${text.replace(/\n?$/, '\n')}${line}\n`;
  }
  return text;
}

/** @type {string[]} */
const made = [];
process.once('exit', () => {
  for (const dir of made) fs.rmSync(dir, { recursive: true, force: true });
});

/** A fresh temporary folder, removed when the test process exits. @param {string} [prefix] */
export function tempDir(prefix = 'runbook-test-') {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  made.push(dir);
  return dir;
}

/**
 * Writes an env file (see envFileText) into a fresh temporary folder.
 * @param {Record<string, string>} [overrides]
 * @returns {string} its path, for RUNBOOK_ENV
 */
export function writeEnvFile(overrides = {}) {
  const file = path.join(tempDir('runbook-env-'), 'runbook.env');
  fs.writeFileSync(file, envFileText(overrides));
  return file;
}

/**
 * A folder of stand-in tools (kubectl, cilium, curl) that record their argv and
 * answer just enough for a transcript to run to its end: `kubectl get svc`
 * prints an IP, curl prints every echo page given. Nothing reaches a cluster.
 * A call ending in `-f -` also records what it read on stdin.
 * @param {string[]} pages the text curl answers with
 * @returns {{ bin: string, calls: () => Array<{ argv: string[], stdin?: string }> }}
 *   bin: put it first on PATH; calls(): every recorded call, in order
 */
export function standInTools(pages) {
  const dir = tempDir('runbook-tools-');
  const bin = path.join(dir, 'bin');
  const log = path.join(dir, 'calls.log');
  fs.mkdirSync(bin);
  fs.writeFileSync(log, '');
  const page = pages.join(' | ').replaceAll("'", `'\\''`);
  const script = [
    '#!/bin/sh',
    'tool=$(basename "$0")',
    'stdin=',
    'case " $* " in *" -f - ") stdin=$(cat) ;; esac',
    // fields separated by \037, stdin after \035, records end with \036
    `{ printf '%s' "$tool"; for a in "$@"; do printf '\\037%s' "$a"; done; printf '\\035%s\\036' "$stdin"; } >> '${log}'`,
    'case "$tool" in',
    `  curl) printf '<h1>%s</h1>\\n' '${page}' ;;`,
    '  kubectl) case " $* " in *" get svc "*) printf \'10.0.0.99\' ;; esac ;;',
    'esac',
    'exit 0',
    '',
  ].join('\n');
  for (const tool of ['kubectl', 'cilium', 'curl']) fs.writeFileSync(path.join(bin, tool), script, { mode: 0o755 });
  const calls = () => fs.readFileSync(log, 'utf8').split('\x1e').filter(Boolean).map((record) => {
    const [head, stdin] = record.split('\x1d');
    return stdin ? { argv: head.split('\x1f'), stdin } : { argv: head.split('\x1f') };
  });
  return { bin, calls };
}
