// @ts-check
// kubectl exec and kubectl logs against the twin, with the real kubectl: exec over
// WebSocket (v5.channel.k8s.io, kubectl's default) and over SPDY/3.1 (its
// fallback, and what the real cilium CLI uses first), stdin, exit codes, a
// missing executable, an unknown container, pods that do not run; logs with
// --tail, -c, and --follow ending when the pod goes.
import test from 'ava';
import { twinForTest, waitFor } from '../support/twin-harness.mjs';

/** @typedef {import('../../twin/store/types.js').KubeObject} KubeObject */

const NS = 'default';
const now = new Date().toISOString().replace(/\.\d+Z$/, 'Z');

/**
 * A Pod as the kubelet reports it: running (every container), scheduled but
 * still creating, or not scheduled.
 * @param {string} name @param {'running'|'creating'|'unscheduled'} state @param {string[]} [containers]
 * @returns {KubeObject}
 */
function pod(name, state, containers = ['main']) {
  return {
    apiVersion: 'v1', kind: 'Pod',
    metadata: { name, namespace: NS, labels: { app: name } },
    spec: { ...(state === 'unscheduled' ? {} : { nodeName: 'k3s-a-server' }), containers: containers.map((c) => ({ name: c, image: `example/${c}:1` })) },
    status: {
      phase: state === 'running' ? 'Running' : 'Pending',
      ...(state === 'unscheduled' ? {} : {
        startTime: now,
        containerStatuses: containers.map((c) => ({
          name: c, image: `example/${c}:1`, ready: state === 'running', restartCount: 0,
          state: state === 'running' ? { running: { startedAt: now } } : { waiting: { reason: 'ContainerCreating' } },
        })),
      }),
    },
  };
}

/** @param {import('ava').ExecutionContext} t */
async function setup(t) {
  const h = await twinForTest(t);
  for (const p of [pod('web', 'running'), pod('duo', 'running', ['app', 'sidecar']), pod('starting', 'creating'), pod('waiting', 'unscheduled')]) {
    h.a.store.create('/pods', p);
  }
  /** Exec requests the server answered, as "METHOD status", once there are n (the log has a request when its connection closes). */
  const execs = async (/** @type {number} */ n) => {
    const list = () => h.a.server.requests().filter((e) => e.path.endsWith('/exec')).map((e) => `${e.method} ${e.status}`);
    await waitFor(() => list().length >= n, { what: `${n} exec requests in the log` });
    return list();
  };
  return { ...h, execs };
}

test('exec over WebSocket: stdout, stdin to cat, exit codes, a missing executable', async (t) => {
  const { kubectl, execs } = await setup(t);
  const echo = await kubectl(['exec', '-n', NS, 'web', '--', 'echo', 'hello', 'twin']);
  t.is(echo.code, 0, echo.stderr);
  t.is(echo.stdout, 'hello twin\n');
  t.deepEqual(await execs(1), ['GET 101'], 'kubectl upgraded to WebSocket at once');

  const cat = await kubectl(['exec', '-i', '-n', NS, 'web', '--', 'cat'], { input: 'line one\nline two\n' });
  t.is(cat.code, 0, cat.stderr);
  t.is(cat.stdout, 'line one\nline two\n');

  const exit = await kubectl(['exec', '-n', NS, 'web', '--', 'sh', '-c', 'echo before; exit 3']);
  t.is(exit.code, 3);
  t.is(exit.stdout, 'before\n');
  t.is(exit.stderr, 'command terminated with exit code 3\n');

  const missing = await kubectl(['exec', '-n', NS, 'web', '--', 'frobnicate', '--now']);
  t.is(missing.code, 127);
  t.regex(missing.stderr, /exec: "frobnicate": executable file not found in \$PATH/);
  t.regex(missing.stderr, /command terminated with exit code 127\n$/);
  t.deepEqual(await execs(4), ['GET 101', 'GET 101', 'GET 101', 'GET 101']);
});

test('exec over SPDY/3.1 (kubectl with WebSockets turned off): stdin, stdout, exit code', async (t) => {
  const { kubectl, execs } = await setup(t);
  const env = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
  const cat = await kubectl(['exec', '-i', '-n', NS, 'web', '--', 'cat'], { input: 'through spdy\n', env });
  t.is(cat.code, 0, cat.stderr);
  t.is(cat.stdout, 'through spdy\n');
  const exit = await kubectl(['exec', '-n', NS, 'web', '--', 'sh', '-c', 'exit 7'], { env });
  t.is(exit.code, 7);
  t.is(exit.stderr, 'command terminated with exit code 7\n');
  t.deepEqual(await execs(2), ['POST 101', 'POST 101']);
});

test('exec refusals: unknown container, pod not found, a pod that is not running', async (t) => {
  const { kubectl } = await setup(t);
  const unknown = await kubectl(['exec', '-n', NS, 'duo', '-c', 'nope', '--', 'true']);
  t.is(unknown.code, 1);
  t.is(unknown.stderr, 'Error from server (BadRequest): container nope is not valid for pod duo\n');

  const chosen = await kubectl(['exec', '-n', NS, 'duo', '-c', 'sidecar', '--', 'hostname']);
  t.is(chosen.code, 0, chosen.stderr);
  t.is(chosen.stdout, 'duo\n');

  const gone = await kubectl(['exec', '-n', NS, 'nosuchpod', '--', 'true']);
  t.is(gone.code, 1);
  t.is(gone.stderr, 'Error from server (NotFound): pods "nosuchpod" not found\n');

  const unscheduled = await kubectl(['exec', '-n', NS, 'waiting', '--', 'true']);
  t.is(unscheduled.code, 1);
  t.is(unscheduled.stderr, 'Error from server (BadRequest): pod waiting does not have a host assigned\n');

  const creating = await kubectl(['exec', '-n', NS, 'starting', '--', 'true']);
  t.is(creating.code, 1);
  t.regex(creating.stderr, /unable to upgrade connection: container not found \("main"\)/);
});

test('logs: lines per container, --tail, -c, a container that has not started', async (t) => {
  const { kubectl } = await setup(t);
  const all = await kubectl(['logs', '-n', NS, 'web']);
  t.is(all.code, 0, all.stderr);
  const lines = all.stdout.trimEnd().split('\n');
  t.true(lines.length >= 2, all.stdout);
  t.true(lines.every((l) => l.includes('main')), all.stdout);

  const tail = await kubectl(['logs', '-n', NS, 'web', '--tail', '1']);
  t.is(tail.stdout, `${lines.at(-1)}\n`);

  const side = await kubectl(['logs', '-n', NS, 'duo', '-c', 'sidecar']);
  t.is(side.code, 0, side.stderr);
  t.regex(side.stdout, /sidecar/);
  t.notRegex(side.stdout, /\bapp\b/);

  const stamped = await kubectl(['logs', '-n', NS, 'web', '--timestamps', '--tail', '1']);
  t.regex(stamped.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z main/);

  const creating = await kubectl(['logs', '-n', NS, 'starting']);
  t.is(creating.code, 1);
  t.is(creating.stderr, 'Error from server (BadRequest): container "main" in pod "starting" is waiting to start: ContainerCreating\n');
});

test('logs --follow ends when the pod is deleted', async (t) => {
  const { kubectl, a } = await setup(t);
  const follow = kubectl(['logs', '-f', '-n', NS, 'web']);
  await waitFor(() => a.server.inFlight().some((e) => e.path.endsWith('/pods/web/log')), { what: 'kubectl following the log' });
  a.store.delete('/pods', NS, 'web');
  const r = await follow;
  t.is(r.code, 0, r.stderr);
  t.regex(r.stdout, /main/);
});
