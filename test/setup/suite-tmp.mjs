// The test run's own temp dir (test/run-suite.mjs gives it to every test as
// TMPDIR and removes it at the end). Tests leave their temp files behind
// (one run left 121 folders, 265 MB, two copies of the 121 MB single binary
// among them), and a machine that keeps /tmp between runs fills up.
//
// A folder appears under its final name only with its owner recorded (made
// under a staging name, then renamed), so a run that sweeps never sees a
// half-made one. A killed run's folder goes at a later run's start once its
// runner is gone and so is its process group (the tests it left running),
// or, the group being shared with something long-lived, six hours on.
// Plain JavaScript: the runner runs before anything is built.

import { chmodSync, lstatSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export const SUITE_PREFIX = 'erlmcp-secrets-suite-';
const STAGING_PREFIX = '.erlmcp-secrets-staging-';
const HOUR = 3600_000;
const ORPHAN_GRACE_MS = 6 * HOUR;

export function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return e.code === 'EPERM';
  }
}

/** the process group of pid, from /proc (Linux); undefined elsewhere */
function pgidOf(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const pgid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
    return Number.isInteger(pgid) && pgid > 0 ? pgid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a run's folder can go. Pure but for isAlive.
 * @param {{ pid?: unknown, pgid?: unknown } | undefined} owner what .owner said (undefined: unreadable)
 * @param {number} ageMs how long ago the folder was made
 */
export function ownerGone(owner, ageMs, isAlive = alive) {
  const pid = owner?.pid;
  if (!Number.isInteger(pid) || pid <= 0) return ageMs > HOUR;
  if (isAlive(pid)) return false;
  const pgid = owner.pgid;
  const groupAlive = Number.isInteger(pgid) && pgid > 1 && isAlive(-pgid);
  return !groupAlive || ageMs > ORPHAN_GRACE_MS;
}

/** a new run folder in base, mode 1777 like /tmp (tests run the agent as uid 65532 under it) */
export function createSuiteTmp(base) {
  const staging = mkdtempSync(path.join(base, STAGING_PREFIX));
  writeFileSync(path.join(staging, '.owner'), JSON.stringify({ pid: process.pid, pgid: pgidOf(process.pid) }));
  chmodSync(staging, 0o1777);
  const dir = path.join(base, SUITE_PREFIX + path.basename(staging).slice(STAGING_PREFIX.length));
  renameSync(staging, dir);
  return dir;
}

/** removes the folders of ended runs in base (this uid's only); returns what it removed and what it could not */
export function sweepSuiteTmps(base, now = Date.now(), isAlive = alive) {
  const uid = process.getuid?.();
  const removed = [];
  const failed = [];
  for (const name of readdirSync(base)) {
    const staging = name.startsWith(STAGING_PREFIX);
    if (!staging && !name.startsWith(SUITE_PREFIX)) continue;
    const dir = path.join(base, name);
    try {
      const st = lstatSync(dir);
      if (!st.isDirectory() || (uid !== undefined && st.uid !== uid)) continue;
      const ageMs = now - st.mtimeMs;
      let gone;
      if (staging) gone = ageMs > HOUR;
      else {
        let owner;
        try {
          owner = JSON.parse(readFileSync(path.join(dir, '.owner'), 'utf8'));
        } catch {}
        gone = ownerGone(owner, ageMs, isAlive);
      }
      if (!gone) continue;
      rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
      removed.push(name);
    } catch (e) {
      failed.push(`${name}: ${e.code ?? e.message}`);
    }
  }
  return { removed, failed };
}
