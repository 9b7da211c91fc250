// @ts-check
// Step 00: the two kubeconfigs off the K3s servers, merged into the one the
// runbook uses. Each is taken as kubectl prints it (`config view --flatten
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
import { commandLine, shellQuote } from './shell.mjs';
import { tempPrefix, sweepDead } from './lock.mjs';
import { renameK3s, conflictOf, entry, caOf, backupStamp } from './k3s-kubeconfig.mjs';

/** @typedef {import('./types.js').Config} Config */
/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Action} Action */
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
 * Step 00's one action.
 * @param {Config} config
 * @returns {Action}
 */
export function mergeKubeconfigs(config) {
  const target = targetOf(config);
  const k3s = config.k3s;
  const names = config.clusters.map((c) => c.context);
  const rename = (/** @type {ClusterConfig} */ c) => {
    const input = k3s?.[c.key];
    const from = input && [input.context, input.cluster, input.user].every((n) => n === input.context) ? `"${input.context}"` : 'its context, cluster and user';
    return `${c.label}: ${from} → ${c.context}, server ${input?.server} → ${c.server}`;
  };
  return {
    title: `Merge the K3s kubeconfigs of clusters A and B into ${target} as ${names.join(' and ')}`,
    async check(rt) {
      if (!k3s) {
        return { state: 'blocked', message: 'CLUSTER_A_K3S_KUBECONFIG and CLUSTER_B_K3S_KUBECONFIG are not set: step 00 has nothing to merge (see env.example)' };
      }
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
    },
    async run(rt, check) {
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
      return `${names.join(' and ')} written to ${target}${backup ? `; the old file is in ${backup}` : ''}`;
    },
    async verifyRun() {
      const doc = YAML.parse(fs.readFileSync(target, 'utf8'));
      for (const c of config.clusters) {
        const ctx = entry(doc, 'contexts', c.context);
        const server = entry(doc, 'clusters', c.context)?.cluster?.server;
        if (ctx?.context?.cluster !== c.context || ctx?.context?.user !== c.context || server !== c.server || !entry(doc, 'users', c.context)) {
          throw new Error(`${target} does not hold context ${c.context} with cluster and user ${c.context} at ${c.server} after writing it`);
        }
      }
      if ((fs.statSync(target).mode & 0o777) !== 0o600) throw new Error(`${target} is not mode 0600 after writing it`);
    },
    transcript: transcriptLines(config),
  };
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

/**
 * The bash for step 00: the same with kubectl, sed and cmp. Runs as printed.
 * @param {Config} config
 * @returns {string[]}
 */
export function transcriptLines(config) {
  const k3s = config.k3s;
  if (!k3s) return ['# CLUSTER_A_K3S_KUBECONFIG and CLUSTER_B_K3S_KUBECONFIG are not set: nothing to merge'];
  const target = targetOf(config);
  /** @param {string} s */
  const sedWord = (s) => s.replaceAll('.', '\\.');
  const lines = [
    '(',
    '  umask 077   # the files hold client keys',
    '  tmp=$(mktemp -d)',
    '  trap \'rm -rf "$tmp"\' EXIT',
    `  target=${shellQuote(target)}`,
  ];
  for (const c of config.clusters) {
    const input = k3s[c.key];
    const n = c.context;
    const one = `"$tmp/k3s-${c.key}.yaml"`;
    const renamed = `"$tmp/new-${n}.yaml"`;
    lines.push(
      `  # cluster ${c.label}: context, cluster and user ${input.context === input.cluster && input.cluster === input.user ? `"${input.context}"` : `"${input.context}", "${input.cluster}", "${input.user}"`} become "${n}"; server ${input.server} becomes ${c.server}`,
      `  kubectl --kubeconfig ${shellQuote(input.file)} config view --flatten --minify --context ${shellQuote(input.context)} > ${one}`,
    );
    if (input.context !== n) lines.push(`  kubectl --kubeconfig ${one} config rename-context ${shellQuote(input.context)} ${shellQuote(n)}`);
    lines.push(
      `  sed -e 's/^  name: ${sedWord(input.cluster)}$/  name: ${n}/' -e 's/^    cluster: ${sedWord(input.cluster)}$/    cluster: ${n}/' \\`,
      `      -e 's/^- name: ${sedWord(input.user)}$/- name: ${n}/' -e 's/^    user: ${sedWord(input.user)}$/    user: ${n}/' ${one} > ${renamed}`,
      `  kubectl --kubeconfig ${renamed} config set-cluster ${shellQuote(n)} --server=${shellQuote(c.server)}`,
    );
  }
  const [a, b] = config.clusters.map((c) => c.context);
  const ca = "config view --raw -o 'jsonpath={.clusters[0].cluster.certificate-authority-data}'";
  lines.push(
    '  # two files from one cluster would make one cluster of two contexts',
    `  if [ "$(kubectl --kubeconfig "$tmp/new-${a}.yaml" ${ca})" = "$(kubectl --kubeconfig "$tmp/new-${b}.yaml" ${ca})" ]; then`,
    `    echo "the two K3s kubeconfigs carry the same cluster CA: both come from one cluster; nothing was changed" >&2; exit 2`,
    '  fi',
    '  # merge: the target first, so its entries and its current-context win (a new file gets the first context)',
    `  KUBECONFIG="$target:$tmp/new-${a}.yaml:$tmp/new-${b}.yaml" kubectl config view --flatten > "$tmp/merged.yaml"`,
    '  # where the target already had an entry of one of the names, the merge kept it: then refuse',
    `  for n in ${a} ${b}; do`,
    '    q="{.clusters[?(@.name==\\"$n\\")].cluster.server} {.clusters[?(@.name==\\"$n\\")].cluster.certificate-authority-data}' +
      ' {.contexts[?(@.name==\\"$n\\")].context.cluster} {.contexts[?(@.name==\\"$n\\")].context.user} {.users[?(@.name==\\"$n\\")].user.client-certificate-data}"',
    '    if [ "$(kubectl --kubeconfig "$tmp/merged.yaml" config view --raw -o "jsonpath=$q")" != "$(kubectl --kubeconfig "$tmp/new-$n.yaml" config view --raw -o "jsonpath=$q")" ]; then',
    '      echo "$target already has another cluster, context or user named $n; nothing was changed. Remove it (kubectl --kubeconfig $target config delete-cluster|delete-context|delete-user $n) or choose another context name" >&2; exit 2',
    '    fi',
    '  done',
    '  # write only when a byte differs, keeping a backup of the old file',
    '  if ! cmp -s "$tmp/merged.yaml" "$target"; then',
    '    if [ -e "$target" ]; then cp "$target" "$target.bak-$(date -u +%Y%m%dT%H%M%SZ)"; fi',
    '    mkdir -p "$(dirname "$target")"',
    '    cat "$tmp/merged.yaml" > "$target"',
    '  fi',
    '  chmod 600 "$target"',
    ')',
  );
  return [lines.join('\n')];
}
