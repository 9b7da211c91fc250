// @ts-check
// Helm's strvals syntax (--set, --set-string, --set-file), with the same
// semantics as helm.sh/helm/v4/pkg/strvals: dotted keys, list indexes a[0].b,
// {x,y} lists, backslash escapes, typed scalars (int64, bool, null) unless
// --set-string, and the same error messages. Integers are JS numbers.

const EOF = Symbol('EOF');
const NOT_LIST = Symbol('not a list');
export const MAX_INDEX = 65536;
export const MAX_NESTED_NAME_LEVEL = 30;

class Scanner {
  /** @param {string} s */
  constructor(s) { this.r = [...s]; this.i = 0; }
  /** @returns {string | typeof EOF} */
  read() { return this.i < this.r.length ? this.r[this.i++] : EOF; }
  unread() { this.i--; }
  rest() { return this.r.slice(this.i).join(''); }
}

/**
 * runesUntil: reads until one of the stop runes, handling backslash escapes.
 * @param {Scanner} sc @param {string} stop
 * @returns {{ v: string, last: string | typeof EOF, eof: boolean }}
 */
function runesUntil(sc, stop) {
  let v = '';
  for (;;) {
    const r = sc.read();
    if (r === EOF) return { v, last: EOF, eof: true };
    if (stop.includes(r)) return { v, last: r, eof: false };
    if (r === '\\') {
      const next = sc.read();
      if (next === EOF) return { v, last: EOF, eof: true };
      v += next;
    } else v += r;
  }
}

/**
 * Helm's typedVal.
 * @param {string} val @param {boolean} asString
 */
export function typedVal(val, asString) {
  if (asString) return val;
  const l = val.toLowerCase();
  if (l === 'true') return true;
  if (l === 'false') return false;
  if (l === 'null') return null;
  if (val === '0') return 0;
  if (val.length !== 0 && val[0] !== '0' && /^[+-]?\d+$/.test(val)) {
    const n = Number(val);
    if (Number.isSafeInteger(n) || (Math.abs(n) <= 9223372036854775807)) return n;
  }
  return val;
}

/** @typedef {(runes: string) => any} Reader */

class Parser {
  /** @param {Scanner} sc @param {Record<string, any>} data @param {Reader} reader */
  constructor(sc, data, reader) { this.sc = sc; this.data = data; this.reader = reader; }

  parse() {
    for (;;) {
      try {
        this.key(this.data, 0);
      } catch (e) {
        if (e === EOF) return;
        throw e;
      }
    }
  }

  /** @param {Record<string, any>} data @param {number} level */
  key(data, level) {
    try {
      return this.keyInner(data, level);
    } catch (e) {
      if (e === EOF || e instanceof StrvalsError) throw e;
      throw new StrvalsError(`unable to parse key: ${/** @type {Error} */ (e).message}`);
    }
  }

  /** @param {Record<string, any>} data @param {number} level @returns {void} */
  keyInner(data, level) {
    const { v: k, last, eof } = runesUntil(this.sc, '=[,.');
    if (eof) {
      if (k.length === 0) throw EOF;
      throw new StrvalsError(`key ${q(k)} has no value`);
    }
    if (last === '[') {
      let i;
      try { i = this.keyIndex(); } catch (e) { throw new StrvalsError(`error parsing index: ${msg(e)}`); }
      let list = [];
      if (k in data) {
        if (!Array.isArray(data[k])) throw new StrvalsError(`unable to parse key: interface conversion: interface {} is ${goType(data[k])}, not []interface {}`);
        list = data[k];
      }
      const res = this.listItem(list, i, level);
      set(data, k, res.list);
      if (res.err) throw res.err;
      return;
    }
    if (last === '=') {
      const vl = this.valList();
      if (vl.err === undefined) { set(data, k, vl.list); return; }
      if (vl.err === EOF) { set(data, k, ''); throw EOF; }
      if (vl.err === NOT_LIST) {
        const { v: rs } = runesUntil(this.sc, ',');
        set(data, k, this.reader(rs));
        return;
      }
      throw vl.err;
    }
    if (last === ',') {
      set(data, k, '');
      throw new StrvalsError(`key ${q(k)} has no value (cannot end with ,)`);
    }
    // last === '.'
    level++;
    if (level > MAX_NESTED_NAME_LEVEL) throw new StrvalsError(`value name nested level is greater than maximum supported nested level of ${MAX_NESTED_NAME_LEVEL}`);
    let inner = {};
    if (k in data) {
      if (data[k] === null || typeof data[k] !== 'object' || Array.isArray(data[k])) {
        throw new StrvalsError(`unable to parse key: interface conversion: interface {} is ${goType(data[k])}, not map[string]interface {}`);
      }
      inner = data[k];
    }
    /** @type {unknown} */
    let err;
    try { this.key(inner, level); } catch (e) { err = e; }
    if (err === undefined && Object.keys(inner).length === 0) throw new StrvalsError(`key map ${q(k)} has no value`);
    if (Object.keys(inner).length !== 0) set(data, k, inner);
    if (err !== undefined) throw err;
  }

  keyIndex() {
    const { v, eof } = runesUntil(this.sc, ']');
    if (eof) throw new Error('EOF');
    if (!/^[+-]?\d+$/.test(v)) throw new Error(`strconv.Atoi: parsing ${q(v)}: invalid syntax`);
    return Number(v);
  }

  /**
   * @param {any[]} list @param {number} i @param {number} level
   * @returns {{ list: any[], err?: unknown }}
   */
  listItem(list, i, level) {
    if (i < 0) return { list, err: new StrvalsError(`negative ${i} index not allowed`) };
    const { v: k, last, eof } = runesUntil(this.sc, '[.=');
    if (k.length > 0) return { list, err: new StrvalsError(`unexpected data at end of array index: ${q(k)}`) };
    if (eof) return { list, err: EOF };
    if (last === '=') {
      const vl = this.valList();
      if (vl.err === undefined) return setIndex(list, i, vl.list);
      if (vl.err === EOF) return setIndex(list, i, '');
      if (vl.err === NOT_LIST) {
        const { v: rs } = runesUntil(this.sc, ',');
        return setIndex(list, i, this.reader(rs));
      }
      return { list, err: vl.err };
    }
    if (last === '[') {
      let next;
      try { next = this.keyIndex(); } catch (e) { return { list, err: new StrvalsError(`error parsing index: ${msg(e)}`) }; }
      let crt = [];
      if (list.length > i && list[i] != null) {
        if (!Array.isArray(list[i])) return { list, err: new StrvalsError(`unable to parse key: interface conversion: interface {} is ${goType(list[i])}, not []interface {}`) };
        crt = list[i];
      }
      const r = this.listItem(crt, next, level);
      if (r.err) return { list, err: r.err };
      return setIndex(list, i, r.list);
    }
    // '.'
    let inner = {};
    if (list.length > i) {
      if (list[i] !== null && typeof list[i] === 'object' && !Array.isArray(list[i])) inner = list[i];
      else { list[i] = {}; inner = list[i]; }
    }
    try { this.key(inner, level); } catch (e) { return { list, err: e }; }
    return setIndex(list, i, inner);
  }

  /** @returns {{ list: any[], err?: unknown }} */
  valList() {
    const r = this.sc.read();
    if (r === EOF) return { list: [], err: EOF };
    if (r !== '{') { this.sc.unread(); return { list: [], err: NOT_LIST }; }
    const list = [];
    for (;;) {
      const { v, last, eof } = runesUntil(this.sc, ',}');
      if (eof) return { list, err: new StrvalsError("list must terminate with '}'") };
      if (last === '}') {
        const n = this.sc.read();
        if (n !== EOF && n !== ',') this.sc.unread();
        list.push(this.reader(v));
        return { list };
      }
      list.push(this.reader(v));
    }
  }
}

export class StrvalsError extends Error {}

/** @param {any[]} list @param {number} index @param {any} val @returns {{ list: any[], err?: unknown }} */
function setIndex(list, index, val) {
  if (index < 0) return { list, err: new StrvalsError(`negative ${index} index not allowed`) };
  if (index > MAX_INDEX) return { list, err: new StrvalsError(`index of ${index} is greater than maximum supported index of ${MAX_INDEX}`) };
  if (list.length <= index) {
    const n = list.slice();
    while (n.length <= index) n.push(null);
    list = n;
  }
  list[index] = val;
  return { list };
}

/** @param {Record<string, any>} data @param {string} key @param {any} val */
function set(data, key, val) {
  if (key.length === 0) return;
  data[key] = val;
}

/** @param {string} s */
function q(s) { return JSON.stringify(s); }
/** @param {unknown} e */
function msg(e) { return e === EOF ? 'EOF' : /** @type {Error} */ (e).message; }
/** @param {any} v */
function goType(v) {
  if (v === null || v === undefined) return 'nil';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'object') return 'map[string]interface {}';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'int64';
  return 'string';
}

/**
 * strvals.ParseInto (--set) / ParseIntoString (--set-string).
 * @param {string} s @param {Record<string, any>} dest @param {boolean} [asString]
 */
export function parseInto(s, dest, asString = false) {
  new Parser(new Scanner(s), dest, (rs) => typedVal(rs, asString)).parse();
  return dest;
}

/**
 * strvals.ParseIntoFile (--set-file): each value is a file path whose content becomes the value.
 * @param {string} s @param {Record<string, any>} dest @param {(path: string) => string} readFile
 */
export function parseIntoFile(s, dest, readFile) {
  /** @param {string} path */
  const reader = (path) => {
    try { return readFile(path); } catch (e) { throw new StrvalsError(/** @type {Error} */ (e).message); }
  };
  new Parser(new Scanner(s), dest, reader).parse();
  return dest;
}

/** strvals.Parse. @param {string} s */
export function parse(s) { return parseInto(s, {}); }
