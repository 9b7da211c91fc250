// @ts-check
// Renders the templated manifests under manifests/. A template is ordinary YAML
// whose scalars may hold ${name} placeholders. Rendering works on the parsed
// document, never on text: a value is put in as a node, so `yes`, `1.10`, `#`,
// `:` or a newline in a value stays a string and cannot change the structure.
// A placeholder that is the whole scalar takes the value's own type (number,
// boolean, list); `undefined` removes the key it belongs to (optional fields).
// Output is YAML 1.1-safe, because kubectl reads YAML 1.1.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const MANIFEST_DIR = fileURLToPath(new URL('../../manifests/', import.meta.url));

const WHOLE = /^\$\{([A-Za-z][\w.]*)\}$/;
const ANY = /\$\{([A-Za-z][\w.]*)\}/g;

/** @typedef {string | number | boolean | string[] | Record<string, string> | undefined} TemplateValue */

export class TemplateError extends Error {}

/**
 * Renders a YAML template text with the given values.
 * @param {string} text the template
 * @param {Record<string, TemplateValue>} values
 * @param {string} [name] for error messages
 * @returns {string} YAML (several documents stay several)
 */
export function renderTemplate(text, values, name = 'template') {
  const docs = YAML.parseAllDocuments(text, { version: '1.1' });
  const used = new Set();
  /** @param {string} key */
  const lookup = (key) => {
    if (!Object.hasOwn(values, key)) throw new TemplateError(`${name}: no value for placeholder \${${key}}`);
    used.add(key);
    return values[key];
  };
  const out = [];
  for (const doc of docs) {
    if (doc.errors.length) throw new TemplateError(`${name}: ${doc.errors[0].message}`);
    YAML.visit(doc, {
      Pair(_, pair) {
        const v = pair.value;
        if (YAML.isScalar(v) && typeof v.value === 'string') {
          const m = WHOLE.exec(v.value);
          if (m && lookup(m[1]) === undefined) return YAML.visit.REMOVE;
        }
        return undefined;
      },
      Scalar(_, node) {
        if (typeof node.value !== 'string' || !node.value.includes('${')) return undefined;
        const m = WHOLE.exec(node.value);
        const value = m
          ? lookup(m[1])
          : node.value.replace(ANY, (_, key) => {
            const v = lookup(key);
            if (v === undefined || typeof v === 'object') {
              throw new TemplateError(`${name}: \${${key}} must be a plain value inside "${node.value}"`);
            }
            return String(v);
          });
        if (value === undefined) throw new TemplateError(`${name}: \${${m?.[1]}} is unset where a value is required`);
        const fresh = doc.createNode(value);
        if (YAML.isNode(fresh)) {
          fresh.comment = node.comment;
          fresh.commentBefore = node.commentBefore;
        }
        return fresh;
      },
    });
    doc.directives.docStart = null; // documents are joined with "---" below
    out.push(doc.toString({ lineWidth: 0 }));
  }
  const unused = Object.keys(values).filter((k) => !used.has(k) && values[k] !== undefined);
  if (unused.length) throw new TemplateError(`${name}: values given but not used: ${unused.join(', ')}`);
  return out.join('---\n');
}

/**
 * Renders manifests/<file> with values.
 * @param {string} file e.g. "mesh-pool.yaml"
 * @param {Record<string, TemplateValue>} values
 */
export function renderManifest(file, values) {
  return renderTemplate(readFileSync(MANIFEST_DIR + file, 'utf8'), values, `manifests/${file}`);
}

/**
 * Parses rendered YAML (one or more documents) into plain objects.
 * @param {string} text
 * @returns {any[]}
 */
export function parseManifests(text) {
  return YAML.parseAllDocuments(text, { version: '1.1' })
    .map((d) => d.toJS())
    .filter((o) => o !== null && o !== undefined);
}
