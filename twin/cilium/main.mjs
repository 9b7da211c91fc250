// @ts-check
// The `cilium` CLI stand-in of the cluster twin (cilium-cli v0.19.7, Helm v4,
// Cilium chart 1.19). It parses exactly the real CLI's subcommands and flags
// (flags.json), prints the real messages, exits with the real codes, and acts on
// the twin only through the Kubernetes API, as the Helm-based real CLI does.
//
// Faithful (checked against cilium-cli v0.19.7 / helm v4.2.3 sources):
//  - cobra/pflag parsing and errors. The root command silences cobra, and main
//    prints returned errors bare: `unknown flag: --x`, `unknown command "x" for
//    "cilium"` (no "Error: " prefix), exit 1. fatalf errors print
//    "\nError: <msg>" on stderr, exit 1. --help prints usage, exit 0.
//  - kubeconfig: --kubeconfig, else KUBECONFIG (first file wins), else
//    ~/.kube/config; --context else current-context; `context "x" does not exist`.
//    Remote contexts of clustermesh connect/disconnect ignore --kubeconfig, as the
//    real CLI does (it passes an empty kubeconfig path for them).
//  - Helm releases in Secrets sh.helm.release.v1.<name>.v<N> (base64(gzip(JSON)),
//    labels owner/name/status/version), revisions superseded on upgrade,
//    --history-max pruning, Helm's values semantics (--set strvals, -f merge,
//    --reuse-values, --reset-values, default --reset-then-reuse-values which KEEPS
//    the previous values, clustermesh.config.clusters included), Helm's ownership
//    check of pre-existing objects (cilium-ca needs Helm's labels/annotations),
//    deletion of objects dropped from the manifest, and Helm's error texts.
//  - install auto-detection lines (kind by node labels, cluster name from the
//    kubeconfig cluster, K3s skips kube-proxy detection), operator.replicas=1,
//    routingMode=tunnel/tunnelProtocol=vxlan, the 1.19 chart's validation and
//    cilium-config keys (cluster-pool-ipv4-cidr from clusterPoolIPv4PodCIDRList
//    only), reuse of an existing cilium-ca.
//  - status / clustermesh status layouts (Go tabwriter, ANSI colours), JSON shapes
//    with omitempty, --wait loops (2s retries) and their timeout errors.
//  - clustermesh enable/disable/connect/disconnect values, checks and messages,
//    CA comparison by Subject Key Identifier (v0.19.1+ refusal).
// Simplified (twin):
//  - the chart renders only ConfigMap/Secrets/Services/DaemonSets/Deployments and
//    the certgen Job/CronJob with its RBAC (no other RBAC, no CRDs); images are
//    tag-only; the twin's Job controller does certgen's work when the Job runs.
//  - cilium-clustermesh / cilium-kvstoremesh entries hold `endpoints: - https://IP:PORT`
//    (the twin's contract) instead of the chart's <name>.<domain> + hostAliases.
//  - agent and kvstoremesh health: as the real CLI, by exec'ing `cilium status -o json`,
//    `cilium endpoint list -o json` and `clustermesh-apiserver kvstoremesh-dbg status
//    -o json` through the API server; the twin's agent model answers (twin/agents).
//  - a workload that can never work is annotated `twin.runbook/broken`.
//  - `cilium image (stable)` is "unknown" (the CLI's answer when GitHub is unreachable).
//  - env TWIN_CILIUM_RETRY_MS shortens the 2s retry interval of --wait loops (tests);
//    env TWIN_CILIUM_LOG names a file each call appends `{"argv": [...], "pid": N}` to.
import { appendFileSync } from 'node:fs';
import { parseArgv, helpText, UsageError, HelpRequest, NOT_SIMULATED } from './argv.mjs';
import { makeCtx, Fatal, Returned } from './cli.mjs';

/**
 * Runs the CLI; resolves to the exit code.
 * @param {string[]} argv arguments after the program name
 * @returns {Promise<number>}
 */
export async function run(argv) {
  let p;
  try {
    p = parseArgv(argv);
  } catch (e) {
    if (e instanceof HelpRequest) {
      process.stdout.write(helpText(e.path));
      return 0;
    }
    if (e instanceof UsageError) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    throw e;
  }
  const key = p.path.join(' ');
  if (key === '' || key === 'clustermesh') {
    process.stdout.write(helpText(p.path));
    return 0;
  }
  if (NOT_SIMULATED.includes(p.path[0]) || key === 'clustermesh inspect-policy-default-local-cluster') {
    process.stderr.write(`cilium ${key}: not simulated by the cluster twin\n`);
    return 1;
  }
  const ctx = makeCtx(p);
  try {
    switch (key) {
      case 'version': await (await import('./cmd-helm.mjs')).cmdVersion(ctx); break;
      case 'install': await (await import('./cmd-helm.mjs')).cmdInstall(ctx); break;
      case 'upgrade': await (await import('./cmd-helm.mjs')).cmdUpgrade(ctx); break;
      case 'uninstall': await (await import('./cmd-helm.mjs')).cmdUninstall(ctx); break;
      case 'status': await (await import('./cmd-status.mjs')).cmdStatus(ctx); break;
      case 'clustermesh status': await (await import('./cmd-clustermesh.mjs')).cmdClustermeshStatus(ctx); break;
      case 'clustermesh enable': await (await import('./cmd-clustermesh.mjs')).cmdClustermeshEnable(ctx); break;
      case 'clustermesh disable': await (await import('./cmd-clustermesh.mjs')).cmdClustermeshDisable(ctx); break;
      case 'clustermesh connect': await (await import('./cmd-clustermesh.mjs')).cmdClustermeshConnect(ctx); break;
      case 'clustermesh disconnect': await (await import('./cmd-clustermesh.mjs')).cmdClustermeshDisconnect(ctx); break;
      default:
        process.stderr.write(`unknown command ${JSON.stringify(key)} for "cilium"\n`);
        return 1;
    }
    return 0;
  } catch (e) {
    if (e instanceof Fatal) {
      process.stderr.write(`\nError: ${e.message}\n`);
      return 1;
    }
    if (e instanceof Returned) {
      process.stderr.write(`${e.message}\n`);
      return 1;
    }
    const err = /** @type {Error} */ (e);
    process.stderr.write(`${err.message}\n`);
    if (process.env.TWIN_CILIUM_DEBUG) process.stderr.write(`${err.stack}\n`);
    return 1;
  } finally {
    for (const c of ctx.clients) c.close();
  }
}

/** Runs as a program: exit code once stdout and stderr are flushed. */
export async function main() {
  // Tests count the calls: with TWIN_CILIUM_LOG set, one JSON line per invocation.
  if (process.env.TWIN_CILIUM_LOG) {
    appendFileSync(process.env.TWIN_CILIUM_LOG, `${JSON.stringify({ argv: process.argv.slice(2), pid: process.pid })}\n`);
  }
  const code = await run(process.argv.slice(2));
  await new Promise((r) => process.stdout.write('', () => r(undefined)));
  await new Promise((r) => process.stderr.write('', () => r(undefined)));
  process.exit(code);
}
