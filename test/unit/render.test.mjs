// @ts-check
// renderTemplate: values go in as YAML nodes, so they keep their type when they
// are the whole scalar, stay strings otherwise, and can never add keys or
// documents. kubectl and Helm read YAML 1.1, so every check parses the output as
// YAML 1.1.
import test from 'ava';
import fs from 'node:fs';
import YAML from 'yaml';
import { renderTemplate, renderManifest, parseManifests, TemplateError, MANIFEST_DIR } from '../../scripts/lib/render.mjs';
import { meshPool } from '../../scripts/04-mesh-pools.mjs';

/** @param {string} text */
const parse11 = (text) => YAML.parseAllDocuments(text, { version: '1.1' }).map((d) => {
  if (d.errors.length) throw d.errors[0];
  return d.toJS();
});
/** @param {string} text */
const one = (text) => {
  const docs = parse11(text);
  if (docs.length !== 1) throw new Error(`expected one document, got ${docs.length}:\n${text}`);
  return docs[0];
};
/** Lines that are exactly a document separator. @param {string} text */
const separators = (text) => text.split('\n').filter((l) => /^---\s*$/.test(l)).length;

test('a whole-scalar placeholder takes the value\'s own type: number, boolean, list, map', (t) => {
  const out = renderTemplate(
    'num: ${n}\nzero: ${zero}\nt: ${yes}\nf: ${no}\nlist: ${list}\nmap: ${map}\nquoted: "${q}"\n',
    { n: 6443, zero: 0, yes: true, no: false, list: ['dns', 'drop', 'port-distribution'], map: { a: 'b', on: 'off' }, q: 7 },
  );
  const o = one(out);
  t.deepEqual(o, {
    num: 6443, zero: 0, t: true, f: false, list: ['dns', 'drop', 'port-distribution'], map: { a: 'b', on: 'off' }, quoted: 7,
  });
  t.is(typeof o.num, 'number');
  t.is(o.t, true);
  t.is(o.f, false);
  t.true(Array.isArray(o.list));
});

test('an empty list and a one-item list stay lists', (t) => {
  t.deepEqual(one(renderTemplate('a: ${a}\nb: ${b}\n', { a: [], b: ['10.42.0.0/16'] })), { a: [], b: ['10.42.0.0/16'] });
  t.deepEqual(one(renderTemplate('a:\n  - ${x}\n', { x: 'yes' })), { a: ['yes'] }, 'a placeholder as a list item');
});

// Strings that YAML 1.1 (or a careless text template) would turn into something
// else: booleans, numbers, null, timestamps, aliases, tags, flow maps, documents.
const TRICKY = [
  'a: b', 'key: value', 'a #b', '#comment', 'trailing #', 'line1\nline2', 'line1\nline2\n', 'x\nkind: Secret',
  'yes', 'no', 'on', 'off', 'y', 'n', 'Y', 'N', 'Yes', 'NO', 'True', 'false', 'FALSE',
  '1.10', '1.0', '0777', '012', '1e3', '1.0e+3', '-0', '+12', '0x1F', '0b101', '1_000', '1:20', '190:20:30',
  '.inf', '-.Inf', '.NaN', '2024-01-01', '2001-12-14t21:59:43.10-05:00',
  'null', 'Null', 'NULL', '~', '',
  '*alias', '&anchor', '!tag', '!!int 3', '%directive', '@at', '`tick', '|', '>', '? x', '- x', '-', ': x',
  '{a: b}', '[a, b]', '{}', '[]', '"quoted"', "'single'", '---', '...', '--- x', '<<', '=',
  ' leading space', 'trailing space ', '\ttab', 'a\tb', 'x\n---\nkind: Secret\nmetadata: {name: evil}',
];

for (const value of TRICKY) {
  test(`the string ${JSON.stringify(value)} stays that string (whole scalar and inside text)`, (t) => {
    const out = renderTemplate('whole: ${v}\ninside: pre-${v}-post\nafter: fixed\n', { v: value });
    const docs = parse11(out);
    t.is(docs.length, 1, 'no document was added');
    t.deepEqual(docs[0], { whole: value, inside: `pre-${value}-post`, after: 'fixed' }, out);
    t.deepEqual(Object.keys(docs[0]), ['whole', 'inside', 'after'], 'no key was added or lost');
  });
}

test('a value inside a list or a map of values stays a string', (t) => {
  const out = renderTemplate('l: ${l}\nm: ${m}\n', { l: ['yes', '1.10', '- x', 'a: b', '~'], m: { k: 'on', 'x: y': '0777' } });
  t.deepEqual(one(out), { l: ['yes', '1.10', '- x', 'a: b', '~'], m: { k: 'on', 'x: y': '0777' } });
});

test('numbers and booleans inside text become their plain text', (t) => {
  const out = renderTemplate('url: "https://${host}:${port}"\nflag: "x=${b}"\n', { host: '10.0.0.1', port: 6443, b: false });
  t.deepEqual(one(out), { url: 'https://10.0.0.1:6443', flag: 'x=false' });
});

test('a value cannot inject keys into the mapping it lands in', (t) => {
  const evil = 'echo\n  namespace: kube-system\nkind: Secret';
  const out = renderTemplate('metadata:\n  name: ${name}\n  labels:\n    app: ${name}\nkind: ConfigMap\n', { name: evil });
  const o = one(out);
  t.deepEqual(o, { metadata: { name: evil, labels: { app: evil } }, kind: 'ConfigMap' });
});

test('a missing placeholder value throws naming the placeholder and the template', (t) => {
  const err = t.throws(() => renderTemplate('a: ${present}\nb: ${absent}\n', { present: 1 }, 'manifests/x.yaml'),
    { instanceOf: TemplateError });
  t.regex(err?.message ?? '', /manifests\/x\.yaml/);
  t.regex(err?.message ?? '', /\$\{absent\}/);
  const inside = t.throws(() => renderTemplate('a: "x-${gone}"\n', {}), { instanceOf: TemplateError });
  t.regex(inside?.message ?? '', /\$\{gone\}/, 'also inside text');
});

test('a value nobody uses throws naming it (a typo in a value name is not silently ignored)', (t) => {
  const err = t.throws(() => renderTemplate('a: ${a}\n', { a: 1, extra: 'x', other: 2 }), { instanceOf: TemplateError });
  t.regex(err?.message ?? '', /extra/);
  t.regex(err?.message ?? '', /other/);
  t.notRegex(err?.message ?? '', /\ba\b,/);
});

test('an unused value that is undefined is not an error', (t) => {
  t.deepEqual(one(renderTemplate('a: ${a}\n', { a: 1, optional: undefined })), { a: 1 });
});

test('undefined removes the key: the affinity annotation goes, its siblings stay', (t) => {
  const template = fs.readFileSync(MANIFEST_DIR + 'echo-service.yaml', 'utf8');
  const values = { namespace: 'echo', name: 'echo', port: 80, targetPort: 80 };
  const without = one(renderTemplate(template, { ...values, affinity: undefined }));
  t.deepEqual(without.metadata.annotations, { 'service.cilium.io/global': 'true' });
  t.false(Object.hasOwn(without.metadata.annotations, 'service.cilium.io/affinity'));
  const withLocal = one(renderTemplate(template, { ...values, affinity: 'local' }));
  t.deepEqual(withLocal.metadata.annotations, { 'service.cilium.io/global': 'true', 'service.cilium.io/affinity': 'local' });
  t.deepEqual(without.spec, withLocal.spec, 'nothing else changes');
});

test('undefined removes a nested key, and the whole scalar only', (t) => {
  t.deepEqual(one(renderTemplate('m:\n  a: ${x}\n  b: 1\n', { x: undefined })), { m: { b: 1 } });
  t.throws(() => renderTemplate('a: "pre-${x}"\n', { x: undefined }), { instanceOf: TemplateError },
    'undefined inside text is an error, not an empty string');
  t.throws(() => renderTemplate('a:\n  - ${x}\n', { x: undefined }), { instanceOf: TemplateError },
    'undefined as a list item is an error');
});

test('a list or map inside text is refused', (t) => {
  t.throws(() => renderTemplate('a: "x-${l}"\n', { l: ['a'] }), { instanceOf: TemplateError });
});

test('multi-document templates keep each document, with exactly one --- between them', (t) => {
  const template = '---\n# first\na: ${x}\n---\n# second\nb: ${y}\n---\nc: 3\n';
  const out = renderTemplate(template, { x: 1, y: 'yes' });
  t.deepEqual(parse11(out), [{ a: 1 }, { b: 'yes' }, { c: 3 }]);
  t.is(separators(out), 2, out);
  t.notRegex(out, /---\s*\n\s*---/, 'never a doubled separator');
  t.false(out.startsWith('---'), 'no separator before the first document (the caller joins documents)');
});

test('the mesh pool manifest renders as two documents with one separator (regression: doubled ---)', (t) => {
  // The pool and the L2 policy, two templates (with NodePort, step 04 applies the policy alone).
  const out = meshPool(/** @type {any} */ ({ context: 'c', meshIp: '10.1.2.3' })).yaml;
  t.is(separators(out), 1, out);
  t.notRegex(out, /---\s*\n(\s*#.*\n|\s*\n)*\s*---/, 'no empty document between the two');
  const docs = parse11(out);
  t.deepEqual(docs.map((d) => d.kind), ['CiliumLoadBalancerIPPool', 'CiliumL2AnnouncementPolicy']);
});

test('rendering the same text twice gives the same output (no state kept between documents)', (t) => {
  const template = 'a: ${x}\n---\nb: ${x}\n';
  t.is(renderTemplate(template, { x: 'v' }), renderTemplate(template, { x: 'v' }));
  t.deepEqual(parse11(renderTemplate(template, { x: 'v' })), [{ a: 'v' }, { b: 'v' }]);
});

test('comments in templates survive: head comments, comments between keys, trailing comments on replaced values', (t) => {
  const template = [
    '# head comment',
    'cluster:',
    '  # the name, unique in the mesh',
    '  name: ${name} # trailing note',
    '  id: ${id}',
    '---',
    '# second document comment',
    'k: v',
    '',
  ].join('\n');
  const out = renderTemplate(template, { name: 'east', id: 3 });
  for (const c of ['# head comment', '# the name, unique in the mesh', '# trailing note', '# second document comment']) {
    t.true(out.includes(c), `keeps ${c}\n${out}`);
  }
  t.deepEqual(parse11(out), [{ cluster: { name: 'east', id: 3 } }, { k: 'v' }]);
});

test('every comment line of every manifest template is in its rendering', (t) => {
  /** @type {Record<string, Record<string, any>>} */
  const values = {
    'app-pool.yaml': { poolName: 'app-pool', start: '10.0.0.1', stop: '10.0.0.9' },
    'cilium-values.yaml': {
      clusterName: 'c', clusterId: 1, apiHost: 'h', apiPort: 6443, podCidr: '10.42.0.0/16',
      hubbleEnabled: true, hubbleRelay: true, hubbleUi: true, hubbleMetrics: ['dns'],
    },
    'echo-deployment.yaml': { namespace: 'n', name: 'e', replicas: 1, targetPort: 80, image: 'i' },
    'echo-namespace.yaml': { namespace: 'n' },
    'echo-service.yaml': { namespace: 'n', name: 'e', port: 80, targetPort: 80, affinity: 'local' },
    'mesh-pool.yaml': { poolName: 'p', meshIp: '10.0.0.1' },
    'l2-policy.yaml': { policyName: 'l' },
  };
  const files = fs.readdirSync(MANIFEST_DIR).filter((f) => f.endsWith('.yaml')).sort();
  t.deepEqual(files, Object.keys(values).sort(), 'a value set for every template');
  for (const file of files) {
    const source = fs.readFileSync(MANIFEST_DIR + file, 'utf8');
    const out = renderManifest(file, values[file]);
    const comments = source.split('\n').map((l) => l.trim()).filter((l) => l.startsWith('#'));
    for (const c of comments) t.true(out.includes(c), `${file}: keeps ${c}`);
  }
});

test('output has no placeholder left and no tab indentation', (t) => {
  const out = renderTemplate('a: ${x}\nb:\n  c: "${x}/${y}"\n', { x: 'p', y: 2 });
  t.false(out.includes('${'));
  t.deepEqual(one(out), { a: 'p', b: { c: 'p/2' } });
});

test('parseManifests reads rendered YAML 1.1 and skips empty documents', (t) => {
  t.deepEqual(parseManifests('a: "yes"\n---\n---\nb: 0777\n'), [{ a: 'yes' }, { b: 511 }]);
});

test('a template with a YAML error throws a TemplateError naming the template', (t) => {
  const err = t.throws(() => renderTemplate('a: [unclosed\n', {}, 'manifests/broken.yaml'), { instanceOf: TemplateError });
  t.regex(err?.message ?? '', /manifests\/broken\.yaml/);
});
