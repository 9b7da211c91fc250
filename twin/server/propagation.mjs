// @ts-check
// DeleteOptions.propagationPolicy: what happens to an object's dependents (the
// objects whose ownerReferences name it). Background and Foreground leave them
// to the controllers' garbage collection (the twin's controllers remove what a
// deleted owner left, at once in both cases); Orphan removes the owner's
// references from them, as the garbage collector's orphan finalizer does.
// batch/v1 Jobs orphan their pods when no policy is given, with the warning a
// real API server sends.

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('../kinds/builtin.mjs').ResourceInfo} ResourceInfo */

/** The Warning header of a response, if any. @param {string | undefined} warning @returns {Record<string, string[]>} */
export const warningHeader = (warning) => (warning ? { Warning: [`299 - ${JSON.stringify(warning)}`] } : {});

export const JOB_ORPHAN_WARNING = 'child pods are preserved by default when jobs are deleted; set propagationPolicy=Background to remove them or set propagationPolicy=Orphan to suppress this warning';

/**
 * The policy of one delete request, from the DeleteOptions body or the query.
 * @param {ResourceInfo} info @param {URLSearchParams} q @param {any} opts DeleteOptions
 * @returns {{ policy: 'Orphan'|'Background'|'Foreground', warning?: string }}
 */
export function propagationOf(info, q, opts) {
  const given = opts?.propagationPolicy ?? q.get('propagationPolicy');
  if (given === 'Orphan' || given === 'Background' || given === 'Foreground') return { policy: given };
  const orphan = opts?.orphanDependents ?? (q.has('orphanDependents') ? q.get('orphanDependents') === 'true' : undefined);
  if (orphan !== undefined && orphan !== null) return { policy: orphan ? 'Orphan' : 'Background' };
  if (info.group === 'batch' && info.kind === 'Job') return { policy: 'Orphan', warning: JOB_ORPHAN_WARNING };
  return { policy: 'Background' };
}

/**
 * Removes the owner's references from every object that names it.
 * @param {import('../store/store.mjs').Store} store @param {KubeObject} owner
 */
export function orphanDependents(store, owner) {
  const uid = owner.metadata.uid;
  const ns = owner.metadata.namespace;
  for (const resource of [...store.objects.keys()]) {
    for (const o of store.list(resource, ns)) {
      const refs = /** @type {any[]} */ (o.metadata.ownerReferences ?? []);
      if (!refs.some((r) => r?.uid === uid)) continue;
      const rest = refs.filter((r) => r?.uid !== uid);
      /** @type {KubeObject['metadata']} */
      const metadata = { ...o.metadata, ownerReferences: rest };
      if (!rest.length) delete metadata.ownerReferences;
      try { store.update(resource, { ...o, metadata }); } catch { /* gone meanwhile */ }
    }
  }
}
