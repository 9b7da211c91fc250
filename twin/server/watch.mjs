// @ts-check
// Watch: a chunked stream of {"type","object"} JSON lines.
//
//  - headers are flushed at once (older kubectl hangs otherwise);
//  - resourceVersion unset or "0": synthetic ADDED for every current object, then live events;
//  - resourceVersion N: events after N from the watch cache, or an ERROR 410 Expired;
//  - sendInitialEvents=true: ADDED for current objects, then a BOOKMARK annotated
//    k8s.io/initial-events-end=true (kubectl's watch-list; it hangs without it);
//  - allowWatchBookmarks: a BOOKMARK with the current resourceVersion every bookmarkMs;
//  - timeoutSeconds: the stream ends after it, as a real server ends it;
//  - an object leaving the selector is sent as DELETED, one entering it as ADDED.
import { expired } from '../kinds/errors.mjs';

/** @typedef {import('../store/types.js').KubeObject} KubeObject */
/** @typedef {import('./events.mjs').HubEvent} HubEvent */

/**
 * @typedef {object} WatchRequest
 * @property {import('./events.mjs').EventHub} hub
 * @property {import('../store/store.mjs').Store} store
 * @property {string} resource store key
 * @property {string} kind
 * @property {string} apiVersion
 * @property {URLSearchParams} q
 * @property {import('node:http').IncomingMessage} req
 * @property {import('node:http').ServerResponse} res
 * @property {(o: KubeObject) => boolean} matches namespace and selectors
 * @property {(o: KubeObject) => KubeObject} present sets apiVersion/kind as requested
 * @property {() => KubeObject[]} list current objects matching
 * @property {Set<() => void>} open closers of open watches (the server ends them on stop)
 * @property {number} [bookmarkMs]
 */

/** @param {WatchRequest} w */
export function serveWatch(w) {
  const { q, res, req } = w;
  res.writeHead(200, {
    'Content-Type': 'application/json',
    'Cache-Control': 'no-cache, private',
    'Transfer-Encoding': 'chunked',
  });
  res.flushHeaders();
  /** @param {string} type @param {unknown} object */
  const send = (type, object) => {
    if (!res.destroyed && !res.writableEnded) res.write(`${JSON.stringify({ type, object })}\n`);
  };
  const bookmark = (/** @type {boolean} */ initialEnd) => {
    /** @type {Record<string, any>} */
    const metadata = { resourceVersion: String(w.store.rv) };
    if (initialEnd) metadata.annotations = { 'k8s.io/initial-events-end': 'true' };
    send('BOOKMARK', { kind: w.kind, apiVersion: w.apiVersion, metadata });
  };

  /** @param {HubEvent} e */
  const deliver = (e) => {
    if (e.resource !== w.resource) return;
    const now = w.matches(e.object);
    const before = e.type === 'MODIFIED' && e.prev ? w.matches(e.prev) : e.type !== 'ADDED' && now;
    if (e.type === 'ADDED') { if (now) send('ADDED', w.present(e.object)); return; }
    if (e.type === 'DELETED') { if (now) send('DELETED', w.present(e.object)); return; }
    if (now && before) send('MODIFIED', w.present(e.object));
    else if (now) send('ADDED', w.present(e.object));
    else if (before) send('DELETED', w.present(e.object));
  };

  const rvParam = q.get('resourceVersion') ?? '';
  const sendInitial = q.get('sendInitialEvents') === 'true';
  const bookmarks = q.get('allowWatchBookmarks') === 'true';
  /** @type {HubEvent[]} */
  let replay = [];
  if (sendInitial || rvParam === '' || rvParam === '0') {
    for (const o of w.list()) send('ADDED', w.present(o));
    if (sendInitial) bookmark(true);
  } else {
    const from = Number(rvParam);
    const events = Number.isFinite(from) ? w.hub.since(from) : null;
    if (!events) {
      const err = expired(`too old resource version: ${rvParam} (${w.hub.oldestRv})`);
      send('ERROR', err.toStatus());
      res.end();
      return;
    }
    replay = events;
  }
  for (const e of replay) deliver(e);
  const unsubscribe = w.hub.subscribe(deliver);

  /** @type {NodeJS.Timeout[]} */
  const timers = [];
  const timeout = Number(q.get('timeoutSeconds') ?? '0');
  // A real server ends a watch after timeoutSeconds (or a server-chosen 30-60 min).
  timers.push(setTimeout(() => close(), (timeout > 0 ? timeout : 1800) * 1000));
  if (bookmarks && w.bookmarkMs) timers.push(setInterval(() => bookmark(false), w.bookmarkMs));
  const close = () => {
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    w.open.delete(close);
    if (!res.writableEnded) res.end();
  };
  w.open.add(close);
  req.on('close', close);
  res.on('close', close);
}
