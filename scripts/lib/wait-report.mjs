// @ts-check
// What a `kubectl wait` or `kubectl rollout status` that timed out was waiting
// for, and how the objects look now: kubectl itself says only "timed out
// waiting for the condition".
import { getObjects } from './probes.mjs';
import { ToolError, firstLine } from './runtime.mjs';

/** @typedef {import('./actions.js').Command} Command */
/** @typedef {import('./runtime.mjs').Runtime} Runtime */

/**
 * What it waited for, and the objects as they are now, read once — the value at
 * the awaited path or the nearest part of it that exists, replica counts,
 * conditions.
 * @param {Runtime} rt
 * @param {Command} cmd
 * @returns {Promise<string>} lines to add to the error, or '' when it cannot tell
 */
export async function lastSeen(rt, cmd) {
  const { namespace, refs, condition } = waitArgs(cmd.args);
  const c = rt.clusterOf(cmd);
  if (!c || !refs.length) return '';
  const wanted = `\n  waited ${cmd.wait?.timeout}s for ${cmd.wait?.what}${condition ? ` (${condition})` : ''}`;
  let live;
  try {
    live = [...(await getObjects(rt, c, namespace, refs)).values()];
  } catch (err) {
    return `${wanted}\n  last seen: could not read ${refs.join(' ')} (${firstLine(err instanceof ToolError ? err.stderr : String(err))})`;
  }
  const seen = live.map((o) => describeObject(o, condition));
  const missing = refs.length - live.length;
  if (missing > 0) seen.push(`${missing === refs.length ? refs.join(' ') : `${missing} of ${refs.join(' ')}`} not found`);
  return `${wanted}\n  last seen on ${c.context}: ${seen.join('; ')}`;
}

/**
 * Namespace, object references and --for condition of a `kubectl wait` or
 * `kubectl rollout status` argv.
 * @param {string[]} args
 */
export function waitArgs(args) {
  const at = args.findIndex((a) => a === 'wait' || a === 'rollout');
  const rest = at < 0 ? [] : args.slice(at + (args[at] === 'rollout' ? 2 : 1));
  let namespace = null;
  let condition = '';
  /** @type {string[]} */
  const refs = [];
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i];
    if (a === '-n' || a === '--namespace') namespace = rest[++i] ?? null;
    else if (a.startsWith('--namespace=')) namespace = a.slice('--namespace='.length);
    else if (a.startsWith('--for=')) condition = a.slice('--for='.length);
    else if (!a.startsWith('-')) refs.push(a);
  }
  return { namespace, refs, condition };
}

/**
 * One object as a wait left it, in a line: the value at the awaited jsonpath (or
 * the nearest part of the path that exists), a Deployment's replica counts, and
 * its conditions.
 * @param {any} o
 * @param {string} condition the --for value ("jsonpath={.status…}=x", "condition=Established", …)
 */
export function describeObject(o, condition) {
  /** @type {string[]} */
  const parts = [];
  const jp = /^jsonpath=\{([^}]*)\}(?:=(.*))?$/.exec(condition);
  if (jp) {
    const steps = jp[1].replace(/\[(\d+)\]/g, '.$1').split('.').filter(Boolean);
    const show = (/** @type {string[]} */ st) => st.map((x) => (/^\d+$/.test(x) ? `[${x}]` : `.${x}`)).join('');
    let v = o;
    let i = 0;
    for (; i < steps.length && v !== null && typeof v === 'object' && v[steps[i]] !== undefined; i++) v = v[steps[i]];
    if (i === steps.length) parts.push(`${show(steps)} is ${brief(v)}${jp[2] !== undefined && String(v) !== jp[2] ? `, not ${jp[2]}` : ''}`);
    else parts.push(i === 0 ? `no ${show(steps)}` : `${show(steps.slice(0, i))} is ${brief(v)} (no ${show(steps.slice(i))})`);
  }
  const st = o.status ?? {};
  if (o.kind === 'Deployment') {
    parts.push(`${st.readyReplicas ?? 0} of ${o.spec?.replicas ?? 1} replicas ready (${st.updatedReplicas ?? 0} updated, ${st.availableReplicas ?? 0} available)`);
  }
  const conditions = (st.conditions ?? []).map((/** @type {any} */ x) =>
    `${x.type}=${x.status}${x.reason ? ` (${x.reason})` : ''}${x.message ? `: ${String(x.message).slice(0, 160)}` : ''}`);
  parts.push(conditions.length ? `conditions ${conditions.join(', ')}` : 'no conditions');
  return `${o.kind.toLowerCase()}/${o.metadata?.name}: ${parts.join('; ')}`;
}

/** @param {any} v */
const brief = (v) => {
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 160 ? `${s.slice(0, 157)}...` : s;
};

