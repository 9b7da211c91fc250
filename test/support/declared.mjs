// @ts-check
// Reading what the step files declare, for tests that hold a run to them: the
// commands a step file writes as kubectl`…` / cilium`…` templates (as patterns
// an executed argv must match), a transcript cut into its steps, and the
// failover drill's record (a time and a measurement) reduced to its verdict.

/**
 * The tagged templates of a source text: tool and raw parts between ${…}.
 * @param {string} source
 * @returns {{ tool: string, parts: string[] }[]}
 */
export function commandTemplates(source) {
  /** @type {{ tool: string, parts: string[] }[]} */
  const found = [];
  const start = /\b(kubectl|cilium)`/g;
  for (let m = start.exec(source); m; m = start.exec(source)) {
    const parts = [''];
    let i = m.index + m[0].length;
    while (i < source.length && source[i] !== '`') {
      if (source[i] === '\\') { parts[parts.length - 1] += source.slice(i, i + 2); i += 2; continue; }
      if (source.startsWith('${', i)) {
        i = skipExpression(source, i + 2);
        parts.push('');
        continue;
      }
      parts[parts.length - 1] += source[i++];
    }
    found.push({ tool: m[1], parts });
    start.lastIndex = i + 1;
  }
  return found;
}

/**
 * The index after the `}` closing an expression that starts at i (nested
 * braces, strings and templates skipped).
 * @param {string} s @param {number} i
 */
function skipExpression(s, i) {
  let depth = 1;
  while (i < s.length && depth > 0) {
    const ch = s[i];
    if (ch === '{') depth++;
    else if (ch === '}') depth--;
    else if (ch === "'" || ch === '"') i = s.indexOf(ch, i + 1);
    else if (ch === '`') {
      i++;
      while (i < s.length && s[i] !== '`') i = s.startsWith('${', i) ? skipExpression(s, i + 2) : i + (s[i] === '\\' ? 2 : 1);
    }
    i++;
  }
  return i;
}

const escape = (/** @type {string} */ s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/**
 * One pattern per command template of a step file: its words in order, each
 * ${…} standing for any words (an array may give none).
 * @param {string} source
 * @returns {RegExp[]}
 */
export function commandPatterns(source) {
  return commandTemplates(source).map(({ tool, parts }) => {
    const body = parts.map((p) => p.trim().split(/\s+/).filter(Boolean).map(escape).join('\\s+')).join('\\s*.*?\\s*');
    return new RegExp(`^${tool}\\s+${body}\\s*$`);
  });
}

/**
 * A transcript (all.mjs --transcript) by step id.
 * @param {string} transcript
 * @returns {Map<string, string>}
 */
export function stepSections(transcript) {
  const parts = transcript.split(/^# Step (\d\d) — .*$/m);
  /** @type {Map<string, string>} */
  const sections = new Map();
  for (let i = 1; i < parts.length; i += 2) sections.set(parts[i], parts[i + 1]);
  return sections;
}

/**
 * The drill's record annotation (when it passed, and what it measured) as "…":
 * to the line's end or a double quote (a run's line quotes the record in single
 * quotes with `'\''` for the apostrophe of "cluster-b's VIP"; the transcript
 * closes the literal part and goes on with "$(date …): $result").
 * @param {string} text
 */
export const normaliseRecord = (text) => text.replace(/(clustermesh-runbook\.io\/failover-drill=)[^"\n]*/g, '$1…');
