// Reads tap's TAP output line by line and keeps what a person needs at the
// end of a run: which tests failed or were skipped (by their full name: file
// > subtest > assertion) and the totals from tap's closing comment. Pure: no
// I/O, so test/setup/tap-tally.test.ts feeds it TAP text.

const SUBTEST = /^( *)# Subtest: (.*)$/;
const RESULT = /^( *)(not ok|ok) \d+(?: - (.*?))?(?: # (SKIP|TODO)\S*(?: (.*))?| # time=.*)?$/;
const TOTALS = /^# \{ total: (\d+)(.*)\}$/;
// tap's "not ok N - timeout!" for a whole file names the file on its next lines
const EXPIRED = /^ {2}expired: (.*)$/;

/** @typedef {{ type: 'subtest', depth: number, name: string } | { type: 'result', depth: number, ok: boolean, name: string, directive?: string, reason?: string } | { type: 'totals', total: number, pass: number, fail: number, skip: number, todo: number } | undefined} TapLine */

/** @returns {TapLine} */
export function parseTapLine(line) {
  let m = SUBTEST.exec(line);
  if (m) return { type: 'subtest', depth: m[1].length / 4, name: m[2] };
  m = RESULT.exec(line);
  if (m) {
    const r = { type: 'result', depth: m[1].length / 4, ok: m[2] === 'ok', name: m[3] ?? '' };
    if (m[4]) r.directive = m[4];
    if (m[5]) r.reason = m[5];
    return r;
  }
  m = EXPIRED.exec(line);
  if (m) return { type: 'expired', file: m[1] };
  m = TOTALS.exec(line);
  if (m) {
    const num = (k) => Number(new RegExp(`${k}: (\\d+)`).exec(m[2])?.[1] ?? 0);
    return { type: 'totals', total: Number(m[1]), pass: num('pass'), fail: num('fail'), skip: num('skip'), todo: num('todo') };
  }
  return undefined;
}

export class SuiteTally {
  /** names of the open subtests, by depth */
  #stack = [];
  #failed = [];
  #skipped = [];
  #totals;
  files = 0;

  /** @returns {{ kind: 'file', name: string, ok: boolean } | undefined} a test file finished */
  add(parsed, lineNo) {
    if (!parsed) return undefined;
    if (parsed.type === 'totals') {
      this.#totals = parsed;
      return undefined;
    }
    if (parsed.type === 'expired') {
      const last = this.#failed.at(-1);
      if (last && last.path.length === 1 && last.path[0] === 'timeout!') last.path = [parsed.file, 'timeout! (the whole file)'];
      return undefined;
    }
    if (parsed.type === 'subtest') {
      this.#stack.length = parsed.depth;
      this.#stack[parsed.depth] = parsed.name;
      return undefined;
    }
    if (!Number.isInteger(parsed.depth)) return undefined;
    const path = [...this.#stack.slice(0, parsed.depth), parsed.name];
    if (!parsed.ok && parsed.directive !== 'TODO') this.#failed.push({ path, line: lineNo });
    if (parsed.directive === 'SKIP') this.#skipped.push({ path, reason: parsed.reason });
    if (parsed.depth === 0) {
      this.files++;
      return { kind: 'file', name: parsed.name, ok: parsed.ok };
    }
    return undefined;
  }

  /** failures without their failing parents (a failed assertion fails its subtest and its file) */
  report() {
    const key = (p) => p.join('\u0000');
    const failedKeys = this.#failed.map((f) => key(f.path));
    const leaf = (f) => !failedKeys.some((k) => k.length > key(f.path).length && k.startsWith(`${key(f.path)}\u0000`));
    return { totals: this.#totals, failed: this.#failed.filter(leaf), skipped: this.#skipped };
  }
}
