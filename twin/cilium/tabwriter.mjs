// @ts-check
// Go's text/tabwriter (flags 0, padchar ' '), so `cilium status` aligns its
// columns exactly like the real binary, including the quirk that ANSI colour
// codes count as characters. Cells are tab-terminated; the text after the last
// tab of a line is not part of any column.

/**
 * @param {string} text everything written to the writer before Flush
 * @param {{ minwidth?: number, padding?: number }} [opts]
 */
export function tabwrite(text, opts = {}) {
  const minwidth = opts.minwidth ?? 0;
  const padding = opts.padding ?? 4;
  const rawLines = text.split('\n');
  const endsWithNewline = text.endsWith('\n');
  if (endsWithNewline) rawLines.pop();
  /** @type {string[][]} */
  const lines = rawLines.map((l) => l.split('\t'));
  /** @type {number[]} */
  const widths = [];
  let out = '';
  const width = (/** @type {string} */ s) => [...s].length;

  /** @param {number} line0 @param {number} line1 */
  const writeLines = (line0, line1) => {
    for (let i = line0; i < line1; i++) {
      const cells = lines[i];
      for (let j = 0; j < cells.length; j++) {
        const c = cells[j];
        out += c;
        if (j < widths.length && j < cells.length - 1) out += ' '.repeat(Math.max(0, widths[j] - width(c)));
      }
      if (i + 1 < lines.length || endsWithNewline) out += '\n';
    }
  };

  /** @param {number} line0 @param {number} line1 */
  const format = (line0, line1) => {
    const column = widths.length;
    for (let t = line0; t < line1; t++) {
      if (column >= lines[t].length - 1) continue;
      writeLines(line0, t);
      line0 = t;
      let w = minwidth;
      for (; t < line1; t++) {
        const line = lines[t];
        if (column >= line.length - 1) break;
        const cw = width(line[column]) + padding;
        if (cw > w) w = cw;
      }
      widths.push(w);
      format(line0, t);
      widths.pop();
      line0 = t;
    }
    writeLines(line0, line1);
  };

  format(0, lines.length);
  return out;
}
