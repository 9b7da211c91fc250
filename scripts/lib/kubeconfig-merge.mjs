// @ts-check
// Step 00's check, write and verification (its bash is in the step file): the
// two kubeconfigs off the K3s servers, merged into the one the runbook uses. Each is taken as kubectl prints it (`config view --flatten
// --minify`), renamed in memory (context, cluster and user to the configured
// context name; kubectl cannot rename clusters and users) with its server set to
// the configured address, written to a private temp folder, and merged by
// kubectl itself: `KUBECONFIG=target:a:b kubectl config view --flatten`, the
// target first so that its entries and its current-context win. The folder is
// removed at once (after a SIGKILL, by the next run: see lock.mjs). If the
// merge did not take a renamed entry as it is, the target holds another one of
// that name: step 00 refuses and changes nothing.
// The result replaces the target only when a byte differs (a backup of the old
// file first), so a second run writes nothing.
//
// These files hold client keys: kubectl's output stays in memory, the temp
// files are mode 0600 in a 0700 folder, nothing is printed.
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ToolError } from './runtime.mjs';
import { commandLine, shellQuote } from './bash-text.mjs';
import { tempPrefix, sweepDead } from './lock.mjs';
import { renameK3s, conflictOf, entry, caOf, backupStamp } from './k3s-kubeconfig.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').CheckResult} CheckResult */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/** The file step 00 writes: KUBECONFIG's first entry. @param {Config} config */
export const targetOf = (config) => config.kubeconfig.split(':')[0];

/**
 * Runs kubectl on local files only (config commands never reach a cluster).
 * stdout may hold client keys: returned, never shown.
 * @param {Runtime} rt
 * @param {string[]} args
 * @param {string} [kubeconfigList] KUBECONFIG for this call
 */
async function kubectlLocal(rt, args, kubeconfigList) {
  const line = `${kubeconfigList ? `KUBECONFIG=${shellQuote(kubeconfigList)} ` : ''}${commandLine('kubectl', args)}`;
  if (rt.verbose || rt.mode === 'dry-run') rt.announceProbe(line);
  const p = await rt.start({ tool: 'kubectl', args, secret: true }, { env: kubeconfigList ? { KUBECONFIG: kubeconfigList } : {}, line });
  if (p.exitCode !== 0) {
    throw new ToolError(`${line} failed: ${p.stderr.trim() || `exit code ${p.exitCode}`}`, { line, code: p.exitCode, stderr: p.stderr });
  }
  return p.stdout;
}

/** @param {string} file */
function readOrNull(file) {
  try {
    return fs.readFileSync(file);
  } catch (err) {
    if (/** @type {NodeJS.ErrnoException} */ (err).code === 'ENOENT') return null;
    throw err;
  }
}

/** The path to write: the target, or the file it links to. @param {string} target */
function realTarget(target) {
  try {
    return fs.realpathSync(target);
  } catch {
    return target;
  }
}

/**
 * @typedef {object} Plan
 * @property {string} merged  the new kubeconfig (holds client keys)
 * @property {Buffer | null} current  the target's bytes now, null when it does not exist
 * @property {boolean} contentChanges
 */

/**
 * Step 00's check: done when the target already holds what the merge makes
 * and only its owner can read it; 'todo' with the merged text (data) otherwise.
 * Blocked: no K3s kubeconfigs, both from one cluster, or the target holding
 * another cluster, context or user under one of the names.
 * @param {Runtime} rt
 * @param {Config} config
 * @returns {Promise<CheckResult>}
 */
export async function kubeconfigMerged(rt, config) {
  const target = targetOf(config);
  const k3s = config.k3s;
  const names = config.clusters.map((c) => c.context);
  if (!k3s) {
    return { state: 'blocked', message: 'CLUSTER_A_K3S_KUBECONFIG and CLUSTER_B_K3S_KUBECONFIG are not set: step 00 has nothing to merge (see env.example)' };
  }
  /** @param {ClusterConfig} c */
  const rename = (c) => {
    const input = k3s[c.key];
    const from = [input.context, input.cluster, input.user].every((n) => n === input.context) ? `"${input.context}"` : 'its context, cluster and user';
    return `${c.label}: ${from} → ${c.context}, server ${input.server} → ${c.server}`;
  };
  // Named like every run's temp folder (the run's pid): should this run be
  // killed before removing it, the next run's sweep removes the keys.
  const dir = fs.mkdtempSync(tempPrefix());
  try {
    /** @type {Record<string, any>[]} */
    const fresh = [];
    /** @type {string[]} */
    const files = [];
    for (const c of config.clusters) {
      const input = k3s[c.key];
      const text = await kubectlLocal(rt, ['--kubeconfig', input.file, 'config', 'view', '--flatten', '--minify', '--context', input.context]);
      const doc = renameK3s(YAML.parse(text), c.context, c.server);
      const file = path.join(dir, `${c.key}.yaml`);
      fs.writeFileSync(file, YAML.stringify(doc), { mode: 0o600 });
      fresh.push(doc);
      files.push(file);
    }
    const [caA, caB] = fresh.map((d, i) => caOf(entry(d, 'clusters', names[i])));
    if (caA !== null && caA === caB) {
      return {
        state: 'blocked',
        message: `${k3s.a.file} and ${k3s.b.file} carry the same cluster CA certificate, so both come from one cluster. Nothing was changed. ` +
          "Copy /etc/rancher/k3s/k3s.yaml from each cluster's own K3s server (CLUSTER_A_K3S_KUBECONFIG, CLUSTER_B_K3S_KUBECONFIG).",
      };
    }
    const merged = await kubectlLocal(rt, ['config', 'view', '--flatten'], [target, ...files].join(':'));
    const mergedDoc = YAML.parse(merged);
    const conflicts = config.clusters
      .map((c, i) => conflictOf(mergedDoc, fresh[i], c.context, { target, variable: `CLUSTER_${c.label}_CONTEXT` }))
      .filter((m) => m !== null);
    if (conflicts.length) return { state: 'blocked', message: conflicts.join('\n') };

    const current = readOrNull(target);
    const contentChanges = current === null || !current.equals(Buffer.from(merged));
    const loose = current !== null && (fs.statSync(target).mode & 0o077) !== 0;
    const there = `${target} holds ${config.clusters.map((c) => `${c.context} (${c.server})`).join(' and ')}`;
    if (!contentChanges && !loose) return { state: 'done', detail: there };
    /** @type {Plan} */
    const plan = { merged, current, contentChanges };
    return { state: 'todo', detail: describe(config, current, mergedDoc, plan, rename), data: plan };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * Step 00's write: the merged kubeconfig the check made replaces the target
 * (a backup of the old file first), or only its mode is tightened. Refuses when
 * the target changed since the check.
 * @param {Runtime} rt
 * @param {Config} config
 * @param {CheckResult} check kubeconfigMerged's answer ('todo')
 * @returns {Promise<string>} the result line's detail
 */
export async function writeMerged(rt, config, check) {
  const target = targetOf(config);
  const plan = /** @type {Plan} */ (check.state === 'todo' ? check.data : null);
  const file = realTarget(target);
  const now = readOrNull(file);
  if (!(now === null ? plan.current === null : plan.current !== null && now.equals(plan.current))) {
    throw new Error(`${target} changed while step 00 was reading it; nothing was written: run step 00 again`);
  }
  if (!plan.contentChanges) {
    rt.announce(`chmod 600 ${shellQuote(target)}`);
    fs.chmodSync(file, 0o600);
    return `${target} is readable by its owner only now (it holds client keys)`;
  }
  /** @type {string | null} */
  let backup = null;
  if (plan.current !== null) {
    backup = writeBackup(file, plan.current);
    rt.announce(`cp ${shellQuote(target)} ${shellQuote(backup)}   # backup, mode 0600`);
  }
  rt.announce(`KUBECONFIG=${shellQuote(target)}:(renamed A):(renamed B) kubectl config view --flatten > ${shellQuote(target)}   # mode 0600`);
  fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  // A run killed between writing and renaming left its copy (client keys) beside the file.
  sweepDead(path.dirname(file), new RegExp(`^${path.basename(file).replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\.tmp-(\\d+)$`));
  const temp = `${file}.tmp-${process.pid}`;
  try {
    fs.writeFileSync(temp, plan.merged, { mode: 0o600, flag: 'wx' });
    fs.chmodSync(temp, 0o600);
    fs.renameSync(temp, file);
  } finally {
    fs.rmSync(temp, { force: true });
  }
  return `${config.clusters.map((c) => c.context).join(' and ')} written to ${target}${backup ? `; the old file is in ${backup}` : ''}`;
}

/**
 * Step 00's verification: the target holds each context with its cluster and
 * user of the same name at the configured server, and is mode 0600.
 * @param {Config} config
 */
export async function mergedHolds(config) {
  const target = targetOf(config);
  const doc = YAML.parse(fs.readFileSync(target, 'utf8'));
  for (const c of config.clusters) {
    const ctx = entry(doc, 'contexts', c.context);
    const server = entry(doc, 'clusters', c.context)?.cluster?.server;
    if (ctx?.context?.cluster !== c.context || ctx?.context?.user !== c.context || server !== c.server || !entry(doc, 'users', c.context)) {
      throw new Error(`${target} does not hold context ${c.context} with cluster and user ${c.context} at ${c.server} after writing it`);
    }
  }
  if ((fs.statSync(target).mode & 0o777) !== 0o600) throw new Error(`${target} is not mode 0600 after writing it`);
}

/**
 * The --dry-run (and run) detail: the planned renames and what happens to the target.
 * @param {Config} config
 * @param {Buffer | null} current
 * @param {unknown} mergedDoc
 * @param {Plan} plan
 * @param {(c: ClusterConfig) => string} rename
 */
function describe(config, current, mergedDoc, plan, rename) {
  const target = targetOf(config);
  const parts = [config.clusters.map(rename).join('; ')];
  if (!plan.contentChanges) return `${parts[0]}; ${target} already holds them, but others can read it: mode 0600`;
  if (current === null) {
    parts.push(`${target} is new (mode 0600), current-context ${config.a.context}`);
  } else {
    /** @type {unknown} */
    let before = null;
    try {
      before = YAML.parse(current.toString('utf8'));
    } catch { /* kubectl read it, so it is YAML */ }
    const added = config.clusters.map((c) => c.context).filter((n) => !entry(before, 'contexts', n));
    const doc = /** @type {Record<string, any>} */ (mergedDoc);
    const others = (Array.isArray(doc?.contexts) ? doc.contexts : []).map((e) => String(e?.name)).filter((n) => !config.clusters.some((c) => c.context === n));
    parts.push(`${target}: ${added.length ? `adds ${added.join(' and ')}` : 'rewrites it in kubectl\'s layout'}, keeps ${others.length} other context${others.length === 1 ? '' : 's'}${others.length ? ` (${others.join(', ')})` : ''}` +
      ` and current-context ${doc?.['current-context'] || '(none)'}; the old file goes to ${target}.bak-<UTC time> (mode 0600)`);
  }
  return parts.join('; ');
}

/**
 * Copies the old target next to it as <file>.bak-<UTC time>, mode 0600, never
 * over an existing file.
 * @param {string} file @param {Buffer} bytes
 * @returns {string} the backup's path
 */
function writeBackup(file, bytes) {
  const base = `${file}.bak-${backupStamp()}`;
  for (let i = 0; ; i++) {
    const name = i === 0 ? base : `${base}-${i}`;
    try {
      fs.writeFileSync(name, bytes, { mode: 0o600, flag: 'wx' });
      fs.chmodSync(name, 0o600);
      return name;
    } catch (err) {
      if (/** @type {NodeJS.ErrnoException} */ (err).code !== 'EEXIST') throw err;
    }
  }
}
