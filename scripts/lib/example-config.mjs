// @ts-check
// The article's setup as a Config, from env.example alone: what `--help` shows
// commands with when the user's settings do not load, and what the lab guide
// (npm run docs) writes its commands with. The kubeconfig is taken to hold the
// two contexts, at the API addresses the article's servers have.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import dotenv from 'dotenv';
import { buildConfig } from './config-build.mjs';
import { formatProblems } from './config-error.mjs';

/** @typedef {import('./types.js').Config} Config */

export const ENV_EXAMPLE = fileURLToPath(new URL('../../env.example', import.meta.url));

/** The servers of the article's two K3s clusters (as in its kubeconfigs). */
const SERVERS = { A: 'https://192.168.254.10:6443', B: 'https://192.168.254.11:6443' };

/**
 * env.example's values (with overrides), checked like any settings.
 * @param {Record<string, string>} [overrides]
 * @returns {Config}
 */
export function exampleConfig(overrides = {}) {
  const vars = { ...dotenv.parse(readFileSync(ENV_EXAMPLE, 'utf8')), ...overrides };
  const contexts = new Map(/** @type {const} */ (['A', 'B']).map((k) => {
    const name = vars[`CLUSTER_${k}_CONTEXT`] ?? '';
    return [name, { server: SERVERS[k], cluster: name }];
  }));
  const result = buildConfig(vars, { contexts }, { envFile: 'env.example', home: '/home/you', cwd: '/home/you' });
  if (!result.config) throw new Error(`env.example does not validate:\n${formatProblems(result.problems)}`);
  return result.config;
}
