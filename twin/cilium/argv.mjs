// @ts-check
// Command-line parsing of the cilium CLI stand-in, cobra/pflag style, driven by
// flags.json (the fact list of the real CLI's flags). What is reproduced:
//  - the command tree and cobra's way of finding the subcommand (first non-flag
//    word per level; flags that take a value swallow the next word),
//  - pflag parsing: --flag value, --flag=value, bools (--wait, --wait=false),
//    shorthands (-n x, -nx, -n=x), "--" ends flags, repeatable stringArray,
//    stringSlice (CSV split), int (base 0), Go durations,
//  - the exact error strings of pflag/cobra ("unknown flag: --x",
//    "flag needs an argument: --context", "invalid argument ...",
//    `unknown command "x" for "cilium"` with cobra's suggestions),
//  - -h/--help prints usage and exits 0; a group command (clustermesh) prints help.
import { readFileSync } from 'node:fs';

/** @typedef {'bool'|'string'|'stringArray'|'stringSlice'|'int'|'duration'} FlagType */
/** @typedef {{ name: string, type: FlagType, shorthand?: string, aliases: string[], def: any, usage: string }} FlagSpec */
/** @typedef {{ path: string[], flags: Map<string, FlagSpec>, values: Record<string, any>, changed: Set<string>, args: string[] }} Parsed */

/** The flag fact list, read once. */
export const FLAGS = /** @type {{ global: Record<string,string>, commands: Record<string, Record<string,string>>, values: Record<string,string[]>, defaults: Record<string,string> }} */ (
  JSON.parse(readFileSync(new URL('./flags.json', import.meta.url), 'utf8')));

export const CLI_VERSION = 'v0.19.7';
export const DEFAULT_CILIUM_VERSION = 'v1.19.5';

/** Commands the stand-in simulates, with their one-line descriptions (cobra Short). */
const SHORT = {
  version: 'Display detailed version information',
  install: 'Install Cilium in a Kubernetes cluster using Helm',
  upgrade: 'Upgrade a Cilium installation a Kubernetes cluster using Helm',
  uninstall: 'Uninstall Cilium using Helm',
  status: 'Display status',
  clustermesh: 'Multi Cluster Management',
  'clustermesh status': 'Show status of ClusterMesh',
  'clustermesh enable': 'Enable ClusterMesh ability in a cluster using Helm',
  'clustermesh disable': 'Disable ClusterMesh ability in a cluster using Helm',
  'clustermesh connect': 'Connect to a remote cluster',
  'clustermesh disconnect': 'Disconnect from a remote cluster',
};

/** Real subcommands of cilium-cli v0.19 that the twin does not simulate. */
export const NOT_SIMULATED = ['bgp', 'completion', 'config', 'connectivity', 'context', 'encrypt', 'features', 'hubble', 'multicast', 'sysdump'];
const NOT_SIMULATED_SUB = { clustermesh: ['inspect-policy-default-local-cluster'] };

/** Flag help texts and defaults the fact list does not carry (from cilium-cli/cli/*.go). */
const USAGE = {
  '--context': 'Kubernetes configuration context',
  '--namespace': 'Namespace Cilium is running in. Can also be set via CILIUM_NAMESPACE env var',
  '--as': 'Username to impersonate for the operation. User could be a regular user or a service account in a namespace.',
  '--as-group': 'Group to impersonate for the operation, this flag can be repeated to specify multiple groups.',
  '--helm-release-name': 'Helm release name',
  '--kubeconfig': 'Path to the kubeconfig file',
  '--client': 'If true, shows client version only (no server required)',
  '--version': 'Cilium version to install',
  '--datapath-mode': 'Datapath mode to use { tunnel | native | aws-eni | gke | azure | aks-byocni } (default: autodetected).',
  '--list-versions': 'List all the available versions without actually installing',
  '--nodes-without-cilium': 'Configure the affinities to avoid scheduling Cilium components on nodes labeled with cilium.io/no-schedule.',
  '--chart-directory': 'Helm chart directory',
  '--values': 'Specify helm values in a YAML file or a URL (can specify multiple)',
  '--set': 'Set helm values on the command line (can specify multiple or separate values with commas: key1=val1,key2=val2)',
  '--set-string': 'Set helm STRING values on the command line (can specify multiple or separate values with commas: key1=val1,key2=val2)',
  '--set-file': 'Set helm values from respective files specified via the command line (can specify multiple or separate values with commas: key1=path1,key2=path2)',
  '--wait': 'Wait for helm install to finish',
  '--wait-duration': 'Maximum time to wait for status',
  '--dry-run': 'Write resources to be installed to stdout without actually installing them',
  '--dry-run-helm-values': 'Write non-default Helm values to stdout without performing the actual installation',
  '--repository': 'Helm chart repository to download Cilium charts from',
  '--history-max': 'limit the maximum number of revisions saved per release. Use 0 for no limit',
  '--reset-then-reuse-values': "When upgrading, reset the values to the ones built into the chart, apply the last release's values and merge in any overrides from the command line via --set and -f. If '--reset-values' or '--reuse-values' is specified, this is ignored",
  '--reset-values': 'When upgrading, reset the helm values to the ones built into the chart',
  '--reuse-values': 'When upgrading, reuse the helm values from the latest release unless any overrides from are set from other flags. This option takes precedence over HelmResetValues',
  '--restart': 'Force restart Cilium pods',
  '--test-namespace': 'Namespace to uninstall Cilium tests from',
  '--timeout': 'Maximum time to wait for resources to be deleted',
  '--ignore-warnings': 'Ignore warnings when waiting for status to report success',
  '--worker-count': 'The number of workers to use',
  '--output': 'Output format. One of: json, summary',
  '--interactive': 'Refresh the status summary output after each retry when --wait flag is specified',
  '--verbose': 'Print more verbose error / log messages',
  '--enable-kvstoremesh': 'Enable kvstoremesh, an extension which caches remote cluster information in the local kvstore',
  '--service-type': 'Type of Kubernetes service to expose control plane { LoadBalancer | NodePort }',
  '--connection-mode': 'Connection mode: unicast, bidirectional or mesh',
  '--destination-context': 'Comma separated list of Kubernetes configuration contexts of destination cluster',
  '--destination-endpoint': 'IP of ClusterMesh service of destination cluster',
  '--source-endpoint': 'IP of ClusterMesh service of source cluster',
  '--parallel': 'Number of parallel connection of destination cluster',
  '--allow-mismatching-ca': 'Allow connecting clusters with mismatching CA certificates by adding remote CAs to the CA bundle',
};

/** Per-command help texts where one flag name means different things. */
const USAGE_BY_CMD = /** @type {Record<string, string>} */ ({
  'status --wait': 'Wait for status to report success (no errors and warnings)',
  'clustermesh status --wait': 'Wait until status is successful',
  'clustermesh status --wait-duration': 'Maximum time to wait',
  'uninstall --wait': 'Wait for uninstallation to have completed',
  'upgrade --dry-run-helm-values': 'Write non-default Helm values to stdout; without performing the actual upgrade',
  'clustermesh disconnect --destination-context': 'Comma separated list of Kubernetes configuration contexts of destination cluster',
});

/**
 * Default of a flag for a command key ("install", "clustermesh status", "" for global).
 * @param {string} cmd @param {string} flag @param {FlagType} type
 */
function defaultOf(cmd, flag, type) {
  const d = FLAGS.defaults;
  if (d[`${cmd} ${flag}`] !== undefined) return parseValue(type, d[`${cmd} ${flag}`], flag).value;
  if (flag === '--namespace') return process.env.CILIUM_NAMESPACE || d['--namespace'] || 'kube-system';
  if (d[flag] !== undefined) return d[flag];
  const extra = /** @type {Record<string, any>} */ ({
    'install --version': DEFAULT_CILIUM_VERSION, 'upgrade --version': DEFAULT_CILIUM_VERSION,
    'install --repository': 'https://helm.cilium.io', 'upgrade --repository': 'https://helm.cilium.io',
    'install --history-max': 10, 'upgrade --history-max': 10,
    'upgrade --wait-duration': 5 * 60_000, 'upgrade --reset-then-reuse-values': true,
    'status --interactive': true, 'status --worker-count': 5, 'status --output': 'summary', 'clustermesh status --output': 'summary',
    'uninstall --test-namespace': 'cilium-test',
    'clustermesh connect --connection-mode': 'bidirectional', 'clustermesh disconnect --connection-mode': 'bidirectional',
    'clustermesh connect --parallel': 1,
  });
  if (extra[`${cmd} ${flag}`] !== undefined) return extra[`${cmd} ${flag}`];
  switch (type) {
    case 'bool': return false;
    case 'int': return 0;
    case 'duration': return 0;
    case 'stringArray': case 'stringSlice': return [];
    default: return '';
  }
}

/**
 * Flag specs of one command: its own flags plus the global (persistent) ones.
 * @param {string} cmd command key, '' for the root
 * @returns {Map<string, FlagSpec>} by canonical long name ("--set") and by every alias
 */
export function flagSet(cmd) {
  /** @type {Map<string, FlagSpec>} */
  const out = new Map();
  /** @param {Record<string,string>} table @param {string} key */
  const add = (table, key) => {
    /** @type {Record<string, string[]>} */
    const aliasesOf = {};
    for (const [name, t] of Object.entries(table)) {
      if (t.startsWith('-')) (aliasesOf[t] ??= []).push(name);
    }
    for (const [name, t] of Object.entries(table)) {
      if (t.startsWith('-')) continue;
      const type = /** @type {FlagType} */ (t);
      const aliases = aliasesOf[name] ?? [];
      const short = aliases.find((a) => /^-[a-zA-Z]$/.test(a));
      /** @type {FlagSpec} */
      const spec = { name, type, shorthand: short?.slice(1), aliases, def: defaultOf(key, name, type), usage: USAGE_BY_CMD[`${key} ${name}`] ?? USAGE[/** @type {keyof USAGE} */ (name)] ?? '' };
      out.set(name, spec);
      for (const a of aliases) out.set(a, spec);
    }
  };
  add(FLAGS.global, '');
  if (cmd && FLAGS.commands[cmd]) add(FLAGS.commands[cmd], cmd);
  return out;
}

export class UsageError extends Error {}
export class HelpRequest extends Error {
  /** @param {string[]} path */
  constructor(path) { super('help'); this.path = path; }
}

/** Go's strconv.ParseBool. @param {string} s */
function parseBool(s) {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(s)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(s)) return false;
  throw new Error(`strconv.ParseBool: parsing ${JSON.stringify(s)}: invalid syntax`);
}

/** Go's strconv.ParseInt(s, 0, 64) for the values a flag can take. @param {string} s */
function parseInt0(s) {
  const m = /^([+-]?)(0[xX][0-9a-fA-F_]+|0[oO]?[0-7_]+|0[bB][01_]+|[1-9][0-9_]*|0)$/.exec(s);
  if (!m) throw new Error(`strconv.ParseInt: parsing ${JSON.stringify(s)}: invalid syntax`);
  let body = m[2].replace(/_/g, '');
  let v;
  if (/^0[xX]/.test(body)) v = parseInt(body.slice(2), 16);
  else if (/^0[bB]/.test(body)) v = parseInt(body.slice(2), 2);
  else if (/^0[oO]/.test(body)) v = parseInt(body.slice(2), 8);
  else if (body.length > 1 && body[0] === '0') v = parseInt(body.slice(1), 8);
  else v = parseInt(body, 10);
  return m[1] === '-' ? -v : v;
}

const UNITS = /** @type {Record<string, number>} */ ({ ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 });

/**
 * Go's time.ParseDuration, in milliseconds (fractions kept).
 * @param {string} s
 * @returns {number}
 */
export function parseDuration(s) {
  const orig = s;
  const bad = () => new Error(`time: invalid duration ${JSON.stringify(orig)}`);
  let neg = false;
  if (s[0] === '-' || s[0] === '+') { neg = s[0] === '-'; s = s.slice(1); }
  if (s === '0') return 0;
  if (s === '') throw bad();
  let total = 0;
  while (s !== '') {
    const num = /^(\d*)(\.(\d*))?/.exec(s);
    if (!num || (num[1] === '' && (num[3] ?? '') === '')) throw bad();
    s = s.slice(num[0].length);
    const u = /^[^\d.]*/.exec(s)?.[0] ?? '';
    if (u === '') throw new Error(`time: missing unit in duration ${JSON.stringify(orig)}`);
    if (!(u in UNITS)) throw new Error(`time: unknown unit ${JSON.stringify(u)} in duration ${JSON.stringify(orig)}`);
    s = s.slice(u.length);
    total += parseFloat(`${num[1] || '0'}.${num[3] || '0'}`) * UNITS[u];
  }
  return neg ? -total : total;
}

/**
 * Go's time.Duration.String for a duration in milliseconds.
 * @param {number} ms
 */
export function formatDuration(ms) {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let a = Math.abs(ms);
  let out;
  if (a < 1000) {
    out = a >= 1 ? `${trimNum(a)}ms` : a >= 1e-3 ? `${trimNum(a * 1e3)}µs` : `${trimNum(a * 1e6)}ns`;
  } else {
    const h = Math.floor(a / 3_600_000); a -= h * 3_600_000;
    const m = Math.floor(a / 60_000); a -= m * 60_000;
    const sec = `${trimNum(a / 1000)}s`;
    out = h > 0 ? `${h}h${m}m${sec}` : m > 0 ? `${m}m${sec}` : sec;
  }
  return neg ? `-${out}` : out;
}
/** @param {number} n */
function trimNum(n) { return String(Number(n.toFixed(9))); }

/** encoding/csv reading of one stringSlice value, as pflag does. @param {string} s */
function csvSplit(s) {
  if (s === '') return [];
  const out = [];
  let i = 0;
  while (i <= s.length) {
    if (s[i] === '"') {
      let v = '';
      i++;
      for (;;) {
        if (i >= s.length) throw new Error('parse error on line 1, column ' + (s.length + 1) + ': extraneous or missing " in quoted-field');
        if (s[i] === '"') {
          if (s[i + 1] === '"') { v += '"'; i += 2; continue; }
          i++;
          break;
        }
        v += s[i++];
      }
      out.push(v);
      if (i < s.length && s[i] !== ',') throw new Error(`parse error on line 1, column ${i + 1}: extraneous or missing " in quoted-field`);
      i++;
    } else {
      const j = s.indexOf(',', i);
      const end = j === -1 ? s.length : j;
      out.push(s.slice(i, end));
      i = end + 1;
    }
  }
  return out;
}

/**
 * Converts one flag value as pflag's Value.Set would.
 * @param {FlagType} type @param {string} raw @param {string} flagName for messages
 * @returns {{ value: any }}
 */
function parseValue(type, raw, flagName) {
  switch (type) {
    case 'bool': return { value: parseBool(raw) };
    case 'int': return { value: parseInt0(raw) };
    case 'duration': return { value: parseDuration(raw) };
    case 'stringSlice': return { value: csvSplit(raw) };
    case 'stringArray': return { value: [raw] };
    default: return { value: raw };
  }
}

/** Levenshtein distance, case-insensitive like cobra's suggestions. @param {string} a @param {string} b */
function ld(a, b) {
  a = a.toLowerCase(); b = b.toLowerCase();
  const d = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
  }
  return d[a.length][b.length];
}

/** Subcommand names below a command path. @param {string[]} path */
export function children(path) {
  if (path.length === 0) return ['clustermesh', 'install', 'status', 'uninstall', 'upgrade', 'version', ...NOT_SIMULATED, 'help'].sort();
  if (path.length === 1 && path[0] === 'clustermesh') return ['connect', 'disable', 'disconnect', 'enable', 'status', ...NOT_SIMULATED_SUB.clustermesh].sort();
  return [];
}

/** @param {string[]} path */
function isSimulated(path) {
  const key = path.join(' ');
  return key === '' || key === 'clustermesh' || key in FLAGS.commands;
}

/**
 * Parses argv (without node and script) like `cilium` (cobra + pflag) would.
 * Throws UsageError (printed plainly by main, exit 1) or HelpRequest.
 * @param {string[]} argv
 * @returns {Parsed}
 */
export function parseArgv(argv) {
  // 1. Find the command as cobra.Find does: first non-flag word per level.
  /** @type {string[]} */
  const path = [];
  let rest = [...argv];
  for (;;) {
    const flags = flagSet(path.join(' '));
    const idx = firstWord(rest, flags);
    if (idx < 0) break;
    const word = rest[idx];
    if (path.length === 0 && word === 'help') {
      const target = rest.slice(idx + 1).filter((a) => !a.startsWith('-'));
      throw new HelpRequest(target);
    }
    if (!children(path).includes(word)) break;
    path.push(word);
    rest = [...rest.slice(0, idx), ...rest.slice(idx + 1)];
  }
  const key = path.join(' ');
  const flags = flagSet(isSimulated(path) ? key : '');

  // 2. Parse the flags of that command, pflag style.
  /** @type {Record<string, any>} */
  const values = {};
  const changed = new Set();
  for (const spec of new Set(flags.values())) values[spec.name] = structuredClone(spec.def);
  /** @type {string[]} */
  const args = [];
  let help = false;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '--') { args.push(...rest.slice(i + 1)); break; }
    if (a.startsWith('--') && a.length > 2) {
      const eq = a.indexOf('=');
      const name = eq >= 0 ? a.slice(0, eq) : a;
      const spec = flags.get(name);
      if (!spec) {
        if (name === '--help') { help = true; continue; }
        throw new UsageError(`unknown flag: ${name}`);
      }
      let raw;
      if (eq >= 0) raw = a.slice(eq + 1);
      else if (spec.type === 'bool') raw = 'true';
      else if (i + 1 < rest.length) raw = rest[++i];
      else throw new UsageError(`flag needs an argument: ${name}`);
      set(spec, raw);
    } else if (a.startsWith('-') && a.length > 1) {
      let s = a.slice(1);
      while (s.length > 0) {
        const c = s[0];
        const spec = [...flags.values()].find((f) => f.shorthand === c);
        if (!spec) {
          if (c === 'h') { help = true; s = s.slice(1); continue; }
          throw new UsageError(`unknown shorthand flag: '${c}' in -${s}`);
        }
        let raw;
        if (s.length > 2 && s[1] === '=') { raw = s.slice(2); s = ''; }
        else if (spec.type === 'bool') { raw = 'true'; s = s.slice(1); }
        else if (s.length > 1) { raw = s.slice(1); s = ''; }
        else if (i + 1 < rest.length) { raw = rest[++i]; s = ''; }
        else throw new UsageError(`flag needs an argument: '${c}' in -${c}`);
        set(spec, raw);
      }
    } else {
      args.push(a);
    }
  }
  if (help) throw new HelpRequest(path);
  if (path.length === 0 && args.length > 0) {
    throw new UsageError(`unknown command ${JSON.stringify(args[0])} for "cilium"${suggest(args[0])}`);
  }
  return { path, flags, values, changed, args };

  /** @param {FlagSpec} spec @param {string} raw */
  function set(spec, raw) {
    const shown = spec.shorthand ? `-${spec.shorthand}, ${spec.name}` : spec.name;
    let v;
    try {
      v = parseValue(spec.type, raw, shown).value;
    } catch (e) {
      throw new UsageError(`invalid argument ${JSON.stringify(raw)} for ${JSON.stringify(shown)} flag: ${/** @type {Error} */ (e).message}`);
    }
    if (spec.type === 'stringArray' || spec.type === 'stringSlice') {
      values[spec.name] = changed.has(spec.name) ? [...values[spec.name], ...v] : v;
    } else {
      values[spec.name] = v;
    }
    changed.add(spec.name);
  }
}

/**
 * Index of the first word that is not a flag or a flag's value (cobra's stripFlags).
 * @param {string[]} args @param {Map<string, FlagSpec>} flags
 */
function firstWord(args, flags) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (a === '--') return -1;
    if (a.startsWith('--')) {
      if (!a.includes('=')) {
        const spec = flags.get(a);
        if (!spec || spec.type !== 'bool') i++;
      }
      continue;
    }
    if (a.startsWith('-') && a.length > 1) {
      if (a.length === 2 && !a.includes('=')) {
        const spec = [...flags.values()].find((f) => f.shorthand === a[1]);
        if (spec && spec.type !== 'bool') i++;
      }
      continue;
    }
    return i;
  }
  return -1;
}

/** cobra's "Did you mean this?" part. @param {string} word */
function suggest(word) {
  const names = children([]).filter((n) => n !== 'help');
  const hits = names.filter((n) => ld(word, n) <= 2 || n.toLowerCase().startsWith(word.toLowerCase()));
  if (hits.length === 0) return '';
  return `\n\nDid you mean this?\n${hits.map((h) => `\t${h}\n`).join('')}`;
}

/**
 * cobra-like help text of a command.
 * @param {string[]} path
 */
export function helpText(path) {
  const key = path.join(' ');
  const full = ['cilium', ...path].join(' ');
  const lines = [];
  if (path.length === 0) {
    lines.push('CLI to install, manage, & troubleshooting Cilium clusters running Kubernetes.', '',
      'Cilium is a CNI for Kubernetes to provide secure network connectivity and',
      'load-balancing with excellent visibility using eBPF', '');
  } else {
    lines.push(SHORT[/** @type {keyof SHORT} */ (key)] ?? `${full}`, '');
  }
  const subs = children(path);
  lines.push('Usage:');
  if (subs.length === 0 || key in FLAGS.commands) lines.push(`  ${full} [flags]`);
  if (subs.length > 0) lines.push(`  ${full} [command]`);
  lines.push('');
  if (subs.length > 0) {
    lines.push('Available Commands:');
    const w = Math.max(...subs.map((s) => s.length));
    for (const s of subs) {
      const short = SHORT[/** @type {keyof SHORT} */ ([...path, s].join(' '))] ?? (s === 'help' ? 'Help about any command' : '(not simulated by the twin)');
      lines.push(`  ${s.padEnd(w)}   ${short}`);
    }
    lines.push('');
  }
  const own = key in FLAGS.commands ? [...new Set(flagSet(key).values())].filter((f) => !(f.name in FLAGS.global)) : [];
  const glob = [...new Set(flagSet('').values())];
  /** @param {FlagSpec[]} list @param {boolean} withHelp */
  const table = (list, withHelp) => {
    const rows = list.map((f) => {
      const left = `${f.shorthand ? `-${f.shorthand}, ` : '    '}${f.name}${f.type === 'bool' ? '' : ` ${typeWord(f.type)}`}`;
      const d = f.def;
      const showDef = !(d === '' || d === false || d === 0 || (Array.isArray(d) && d.length === 0));
      const defText = showDef ? ` (default ${f.type === 'duration' ? formatDuration(d) : Array.isArray(d) ? `[${d.join(',')}]` : f.type === 'string' ? JSON.stringify(d) : d})` : '';
      return [left, `${f.usage}${defText}`];
    });
    if (withHelp) rows.push(['-h, --help', `help for ${path.at(-1) ?? 'cilium'}`]);
    rows.sort((x, y) => x[0].replace(/^-., |^ +/, '').localeCompare(y[0].replace(/^-., |^ +/, '')));
    const w = Math.max(...rows.map((r) => r[0].length));
    return rows.map(([l, r]) => `  ${l.padEnd(w)}   ${r}`);
  };
  if (path.length === 0) {
    lines.push('Flags:', ...table(glob, true), '');
  } else {
    lines.push('Flags:', ...table(own, true), '', 'Global Flags:', ...table(glob, false), '');
  }
  if (subs.length > 0) lines.push(`Use "${full} [command] --help" for more information about a command.`);
  return lines.join('\n') + '\n';
}

/** @param {FlagType} t */
function typeWord(t) {
  return t === 'stringArray' ? 'stringArray' : t === 'stringSlice' ? 'strings' : t;
}
