// @ts-check
// loadConfig: finds and reads the env file, puts the environment on top (it
// wins), flags unknown names, reads the kubeconfigs and hands all to buildConfig.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import dotenv from 'dotenv';
import { expandHome } from './kubeconfig-read.mjs';
import { VARIABLES } from './config-table.mjs';
import { findUnknownVariables } from './config-unknown.mjs';
import { readKubeconfigs } from './config-kubeconfig.mjs';
import { buildConfig } from './config-build.mjs';
import { ConfigError } from './config-error.mjs';

/** @typedef {import('./types.d.ts').Config} Config */
/** @typedef {import('./types.d.ts').ConfigProblem} ConfigProblem */

/**
 * Reads the settings: the env file (opts.envFile, else RUNBOOK_ENV, else .env in
 * cwd), the environment on top (it wins), defaults under both; then the
 * kubeconfig. Throws ConfigError listing every problem; returns a frozen Config.
 * @param {{ env?: Record<string, string | undefined>, envFile?: string, cwd?: string }} [opts]
 * @returns {Config}
 * @throws {ConfigError}
 */
export function loadConfig(opts = {}) {
  const env = opts.env ?? process.env;
  const cwd = opts.cwd ?? process.cwd();
  const home = env.HOME && env.HOME !== '' ? env.HOME : os.homedir();
  /** @type {ConfigProblem[]} */
  const problems = [];

  const { envFile, fileVars } = readEnvFile(opts.envFile, env, { home, cwd }, (message) => problems.push({ variable: 'RUNBOOK_ENV', message }));
  problems.push(...findUnknownVariables(Object.keys(fileVars)));

  /** @type {Record<string, string | undefined>} */
  const vars = {};
  for (const name of VARIABLES) vars[name] = env[name] !== undefined ? env[name] : fileVars[name];

  const { kube, k3s } = readKubeconfigs(vars, { home, cwd });
  const result = buildConfig(vars, kube, { envFile, home, cwd, k3s });
  problems.push(...result.problems);
  if (problems.length > 0 || result.config === null) {
    throw new ConfigError(problems, envFile ? `env file ${envFile}` : 'no env file; defaults and environment');
  }
  return result.config;
}

/**
 * The env file's variables: opts.envFile, else RUNBOOK_ENV, else .env in cwd
 * (which alone may be missing).
 * @param {string | undefined} given
 * @param {Record<string, string | undefined>} env
 * @param {{ home: string, cwd: string }} where
 * @param {(message: string) => void} problem
 * @returns {{ envFile: string | null, fileVars: Record<string, string> }}
 */
function readEnvFile(given, env, { home, cwd }, problem) {
  const runbookEnv = env.RUNBOOK_ENV?.trim() ? env.RUNBOOK_ENV.trim() : undefined;
  const named = given ?? runbookEnv;
  const file = named !== undefined ? path.resolve(cwd, expandHome(named, home)) : path.join(cwd, '.env');
  try {
    return { envFile: file, fileVars: dotenv.parse(fs.readFileSync(file, 'utf8')) };
  } catch (err) {
    const code = /** @type {NodeJS.ErrnoException} */ (err).code;
    const cp = `cp env.example ${path.relative(cwd, file) || file}`;
    if (code === 'ENOENT' && named === undefined) {
      // no .env: defaults and the environment apply
    } else if (code === 'ENOENT' && given !== undefined) {
      problem(`the env file ${file} does not exist; create it (${cp})`);
    } else if (code === 'ENOENT') {
      problem(`names ${file}, which does not exist; create it (${cp}), or unset RUNBOOK_ENV to use .env in the current folder`);
    } else {
      problem(`cannot read the env file ${file} (${code ?? String(err)})`);
    }
    return { envFile: null, fileVars: {} };
  }
}
