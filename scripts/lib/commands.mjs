// @ts-check
// Builders for the two tools, so every step writes commands the same way:
//   kubectl --context <ctx> …          cilium <subcommand> --context <ctx> …

/** @typedef {import('./types.js').ClusterConfig} ClusterConfig */
/** @typedef {import('./actions.js').Command} Command */

/**
 * @param {ClusterConfig} c
 * @param {...string} args
 * @returns {Command}
 */
export const kubectl = (c, ...args) => ({ tool: 'kubectl', cluster: c, args: ['--context', c.context, ...args] });

/**
 * @param {ClusterConfig} c
 * @param {string} subcommand e.g. "install" or "clustermesh enable"
 * @param {...string} args
 * @returns {Command}
 */
export const cilium = (c, subcommand, ...args) =>
  ({ tool: 'cilium', cluster: c, args: [...subcommand.split(' '), '--context', c.context, ...args] });

/** Seconds as a duration both tools accept ("300s"). @param {number} s */
export const duration = (s) => `${s}s`;

/**
 * Adds fields to a command (stdin, files, wait, read, secret).
 * @param {Command} cmd
 * @param {Partial<Command>} extra
 * @returns {Command}
 */
export const withOpts = (cmd, extra) => ({ ...cmd, ...extra });
