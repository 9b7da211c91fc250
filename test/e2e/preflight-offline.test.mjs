// @ts-check
// The preflight does not depend on the internet. Every form of `cilium version`
// fetches the latest stable version from GitHub with Go's http.Get, no timeout,
// through HTTPS_PROXY when one is set (the stand-in does the same through a
// proxy on loopback). Here the lab's proxy accepts and never answers, as a
// proxy with no way out can: the preflight must still end, with the versions,
// and never ask that proxy.
import net from 'node:net';
import { e2eTwin } from '../support/e2e.mjs';
import { testWithEachCli } from '../support/cilium-cli.mjs';

testWithEachCli('step 01\'s preflight ends with the versions when the internet is out of reach (a proxy that never answers)', async (t, cli) => {
  let asked = 0;
  /** @type {net.Socket[]} */
  const held = [];
  const proxy = net.createServer((s) => { asked++; held.push(s); });
  await new Promise((resolve) => proxy.listen(0, '127.0.0.1', () => resolve(undefined)));
  t.teardown(() => { for (const s of held) s.destroy(); proxy.close(); });
  const port = /** @type {net.AddressInfo} */ (proxy.address()).port;

  const h = await e2eTwin(t, { cilium: cli.bin });
  // Today's preflight never ends here: the guard kills it long after the twin's answers take.
  const run = await h.run('01-install-a.mjs', ['--dry-run'], { env: { HTTPS_PROXY: `http://127.0.0.1:${port}` }, timeoutMs: 30_000 });
  t.is(run.code, 0, run.output);
  t.regex(run.output, /✔ ok +kubectl and cilium are installed and cluster-a answers — kubectl v\S+, cilium-cli v0\.19\.7, cluster-a runs v\S+/);
  t.is(asked, 0, 'the lab\'s proxy was never asked');
});
