// Runs `npm test` (build, typecheck, every tap test) with TAP output to a log
// file and prints a short report: the failures and skips by name, then the
// totals as `N passed, N failed, N skipped` on the last line (CI reads that
// line). The full TAP stays in the log, whose path is printed first.
//
//   node test/run-suite.mjs [tap args...]     TEST_LOG=path overrides the log file

import { spawn, spawnSync } from 'node:child_process';
import { createWriteStream, mkdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { parseTapLine, SuiteTally } from './setup/tap-tally.mjs';
import { createSuiteTmp, sweepSuiteTmps } from './setup/suite-tmp.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const logPath = path.resolve(process.env.TEST_LOG ?? path.join(root, 'out', 'test-suite.log'));
mkdirSync(path.dirname(logPath), { recursive: true });
const log = createWriteStream(logPath);
// a log that cannot be written (a full disk, say) must not end the run
// unreported: the tally goes on from the pipe, and the error is said at the end
let logError;
log.on('error', (e) => (logError ??= e));
process.stdout.write(`running npm test; full output (TAP) in ${logPath}\n`);

// Every test's temp files go into one folder for this run, removed at the
// end (test/setup/suite-tmp.mjs says why and when a killed run's goes)
const baseTmp = tmpdir();
const swept = sweepSuiteTmps(baseTmp);
for (const f of swept.failed) process.stdout.write(`could not remove an earlier run's temp folder ${f}\n`);
const suiteTmp = createSuiteTmp(baseTmp);

const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
// ERLMCP_SECRETS_LOCK_DIR: the engine lock stays where every run (and install.sh) finds it
const env = { ...process.env, TMPDIR: suiteTmp, ERLMCP_SECRETS_LOCK_DIR: baseTmp };
const child = spawn(npm, ['test', '--', '--reporter=tap', ...process.argv.slice(2)], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env });
// read, not piped: a pipe stops reading when the log fails, and the child would block on a full stderr
child.stderr.on('data', (d) => logError ?? log.write(d));

const tally = new SuiteTally();
let lineNo = 0;
const tail = [];
for await (const line of createInterface({ input: child.stdout, crlfDelay: Infinity })) {
  if (!logError) log.write(`${line}\n`);
  lineNo++;
  tail.push(line);
  if (tail.length > 40) tail.shift();
  const event = tally.add(parseTapLine(line), lineNo);
  // one line per test file that failed, as it happens, and a heartbeat
  if (event?.kind === 'file') {
    if (!event.ok && event.name !== 'timeout!') process.stdout.write(`FAIL ${event.name}\n`);
    else if (tally.files % 25 === 0) process.stdout.write(`... ${tally.files} test files done\n`);
  }
}
const status = await new Promise((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
await new Promise((resolve) => (logError ? resolve() : log.end(resolve)));
const leftMiB = Number((spawnSync('du', ['-sm', suiteTmp], { encoding: 'utf8' }).stdout ?? '').split('\t')[0]);
try {
  rmSync(suiteTmp, { recursive: true, force: true, maxRetries: 3 });
  process.stdout.write(`temp files the tests left: ${Number.isFinite(leftMiB) ? `${leftMiB} MiB` : 'size unknown'}, removed with ${suiteTmp}\n`);
} catch (e) {
  process.stdout.write(`temp files the tests left in ${suiteTmp} could not all be removed (${e.code ?? e.message}); the next run tries again\n`);
}
if (logError) {
  const disk = spawnSync('df', ['-h', path.dirname(logPath), baseTmp], { encoding: 'utf8' }).stdout ?? '';
  process.stdout.write(`\nthe log ${logPath} could not be written (${logError.code ?? logError.message}): the failures below are counted from the output itself; free space:\n${disk}`);
}

const report = tally.report();
if (report.totals === undefined) {
  // the build or the typecheck failed before tap ran: its own output says why
  process.stdout.write(`\nnpm test stopped before the tests ran (exit ${status}); last lines of ${logPath}:\n${tail.join('\n')}\n`);
  process.stdout.write('0 passed, 1 failed, 0 skipped\n');
  process.exit(status || 1);
}
for (const s of report.skipped) process.stdout.write(`SKIP ${s.path.join(' > ')}${s.reason ? ` (${s.reason})` : ''}\n`);
for (const f of report.failed) process.stdout.write(`FAILED ${f.path.join(' > ')}  [${path.relative(process.cwd(), logPath)}:${f.line}]\n`);
let { pass, fail, skip } = report.totals;
// tap exited non-zero without counting a failure (a file that crashed, a timeout)
if (status !== 0 && fail === 0) fail = Math.max(1, report.failed.length);
process.stdout.write(`${pass} passed, ${fail} failed, ${skip} skipped\n`);
process.exit(status !== 0 || fail > 0 ? status || 1 : 0);
