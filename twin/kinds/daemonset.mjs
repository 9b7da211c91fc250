// @ts-check
// A DaemonSet's template generation, as the apps/v1 API shows it: the
// annotation deprecated.daemonset.template.generation, 1 on create, one more
// each time an update changes spec.template, whatever value the client sent
// (the registry keeps the field; apps/v1 writes it into this annotation).
import { isDeepStrictEqual } from 'node:util';

export const TEMPLATE_GENERATION = 'deprecated.daemonset.template.generation';

/**
 * Sets the annotation on a DaemonSet being stored (create: old undefined).
 * @param {any} obj @param {any} [old]
 */
export function setTemplateGeneration(obj, old) {
  const before = Number(old?.metadata?.annotations?.[TEMPLATE_GENERATION] ?? 0);
  const generation = !old ? 1 : before + (isDeepStrictEqual(old.spec?.template, obj.spec?.template) ? 0 : 1);
  obj.metadata.annotations = { ...obj.metadata.annotations, [TEMPLATE_GENERATION]: String(generation) };
}
