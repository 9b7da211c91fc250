// @ts-check
// The lab guide (docs/) is what `npm run docs` writes from the steps as they
// are: a step changed without `npm run docs` fails here, naming the page.
import test from 'ava';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../support/e2e.mjs';
import { scaled, describeDeadline } from '../support/time.mjs';
import { pathWithTools } from '../support/kubectl.mjs';

test.serial('npm run docs on this checkout writes exactly the committed lab guide', async (t) => {
  const out = mkdtempSync(join(tmpdir(), 'clustermesh-docs-'));
  t.teardown(() => rmSync(out, { recursive: true, force: true }));
  const limit = scaled(300_000);
  const { code, output } = await new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(ROOT, 'tools', 'docs.mjs'), '--out', out],
      { env: { ...process.env, PATH: pathWithTools() }, stdio: ['ignore', 'pipe', 'pipe'] });
    let text = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), limit);
    child.stdout.on('data', (d) => { text += d; });
    child.stderr.on('data', (d) => { text += d; });
    child.on('error', reject);
    child.on('close', (c, sig) => { clearTimeout(timer); resolve({ code: c ?? `killed by ${sig} (deadline ${describeDeadline(limit)})`, output: text }); });
  });
  t.is(code, 0, output);
  const committed = readdirSync(join(ROOT, 'docs')).filter((f) => /^(\d\d-.+|README)\.md$/.test(f)).sort();
  const written = readdirSync(out).sort();
  t.deepEqual(written, committed, 'the same pages');
  for (const f of written) {
    t.is(readFileSync(join(out, f), 'utf8'), readFileSync(join(ROOT, 'docs', f), 'utf8'), `docs/${f} is stale: run npm run docs`);
  }
});
