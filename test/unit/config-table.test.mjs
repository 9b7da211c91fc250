// @ts-check
import test from 'ava';
import { SETTINGS, DEFAULTS, VARIABLES, buildConfig } from '../../scripts/lib/config.mjs';

test('every default in the settings table passes its own parser', (t) => {
  for (const s of SETTINGS) {
    if (s.default === '') continue;
    /** @type {string[]} */
    const said = [];
    const value = s.parse(s.default, (m) => said.push(m));
    t.deepEqual(said, [], s.name);
    t.not(value, null, s.name);
  }
});

test('the table is the list of variables and their defaults, names unique', (t) => {
  t.deepEqual(VARIABLES, SETTINGS.map((s) => s.name));
  t.is(new Set(VARIABLES).size, VARIABLES.length);
  for (const s of SETTINGS) t.is(DEFAULTS[s.name], s.default);
});

test('a variable the table does not let be empty is refused when empty, and only then', (t) => {
  const kube = { contexts: new Map([['cluster-a', { server: 'https://10.0.0.1:6443' }], ['cluster-b', { server: 'https://10.0.0.2:6443' }]]) };
  for (const s of SETTINGS) {
    const { problems } = buildConfig({ [s.name]: '' }, kube, { home: '/home/u', cwd: '/w' });
    const empty = problems.filter((p) => p.variable === s.name && p.message.startsWith('is empty; '));
    t.is(empty.length, s.empty ? 0 : 1, s.name);
  }
});
