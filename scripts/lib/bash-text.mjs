// @ts-check
// Bash as text: commands the way a reader types them (quoted words, heredocs).
// Nothing here runs: processes get argv arrays. These strings are for the
// screen and for transcripts, which must run as printed.

const SAFE = /^[\w@%+=:,./-]+$/;

/** Quotes one word for bash. @param {string} word */
export function shellQuote(word) {
  if (word !== '' && SAFE.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** @param {string} tool @param {readonly string[]} args */
export function commandLine(tool, args) {
  return [tool, ...args].map(shellQuote).join(' ');
}

/**
 * A heredoc delimiter that does not occur as a line of the text.
 * @param {string} text
 */
export function heredocDelimiter(text) {
  const lines = new Set(text.split('\n'));
  let d = 'EOF';
  for (let i = 1; lines.has(d); i++) d = `EOF${i}`;
  return d;
}

/**
 * `command <<'EOF'` with the text, for transcripts. The quoted delimiter keeps
 * bash from expanding anything inside.
 * @param {string} line
 * @param {string} text
 */
export function withHeredoc(line, text) {
  const d = heredocDelimiter(text);
  return `${line} <<'${d}'\n${text.endsWith('\n') ? text : text + '\n'}${d}`;
}

/**
 * The bash for one command: heredocs for the files it reads and for its stdin.
 * @param {import('./actions.js').Command} cmd
 */
export function bashOf(cmd) {
  const parts = [];
  for (const f of cmd.files ?? []) parts.push(withHeredoc(`cat > ${shellQuote(f.name)}`, f.yaml));
  const env = Object.entries(cmd.env ?? {}).map(([k, v]) => `${k}=${shellQuote(v)} `).join('');
  const line = env + commandLine(cmd.tool, cmd.args);
  parts.push(cmd.stdin ? withHeredoc(line, cmd.stdin.yaml) : line);
  return parts.join('\n');
}

/** `ip=$(kubectl … -o jsonpath=…)`: a Service's LoadBalancer IP into a shell variable. @param {import('./actions.js').Command} get */
export const assignIp = (get) => `ip=$(${bashOf(get)})`;
