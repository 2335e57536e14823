// Starts backend emulators for provider tests: each on a free loopback port,
// waits until it answers, stops it in teardown. A missing or unreachable
// emulator fails the test file with the command that installs it.
//
// Only AWS has a registry-served emulator here (moto, from PyPI). The Azure
// Key Vault and GCP Secret Manager emulators are not served by the registries
// this project can reach, so their tests run against protocol fakes in
// test/fakes/ that start in-process and need no install.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import type { Test } from 'tap';

const INSTALL_HINT = 'install it with `bash test/setup/install.sh`';

export interface RunningEmulator {
  name: string;
  /** http://127.0.0.1:PORT */
  url: string;
  port: number;
  /** wall time from spawn to the first good answer */
  startupMs: number;
  /** everything the process printed, for failure diagnostics */
  output(): string;
  stop(): Promise<void>;
}

export async function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** the python that has moto, or undefined */
function findMotoPython(): string | undefined {
  for (const py of [process.env.MOTO_PYTHON, 'python3', 'python'].filter((p): p is string => !!p)) {
    const r = spawnSync(py, ['-c', 'import moto.server, flask'], { stdio: 'ignore', timeout: 20_000 });
    if (r.status === 0) return py;
  }
  return undefined;
}

export class EmulatorUnavailable extends Error {}

export async function startMoto(): Promise<RunningEmulator> {
  const python = findMotoPython();
  if (!python) throw new EmulatorUnavailable(`moto (the AWS emulator) is not installed for python3: ${INSTALL_HINT}`);
  const port = await freeLoopbackPort();
  const started = performance.now();
  const child = spawn(python, ['-m', 'moto.server', '-H', '127.0.0.1', '-p', String(port)], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, PYTHONUNBUFFERED: '1' },
  });
  const url = `http://127.0.0.1:${port}`;
  const emulator = supervise('moto', child, url, port, started);
  try {
    await waitUntil(async () => (await fetch(`${url}/moto-api/`)).ok, child, 30_000);
  } catch (e) {
    await emulator.stop();
    throw new EmulatorUnavailable(`moto did not become ready on ${url}: ${(e as Error).message}\n${emulator.output()}`);
  }
  return { ...emulator, startupMs: performance.now() - started };
}

function supervise(name: string, child: ChildProcess, url: string, port: number, started: number): RunningEmulator {
  let out = '';
  child.stdout?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-8_000)));
  child.stderr?.on('data', (b: Buffer) => (out = (out + b.toString()).slice(-8_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    name,
    url,
    port,
    startupMs: performance.now() - started,
    output: () => out,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 3_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

async function waitUntil(ready: () => Promise<boolean>, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`process exited with code ${child.exitCode}`);
    try {
      if (await ready()) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`not ready after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts an emulator for a test file; a failure to start fails the file
 * (never a quiet skip). Returns undefined when the caller should run no tests.
 */
export async function emulatorFor(t: Test, start: () => Promise<RunningEmulator>): Promise<RunningEmulator | undefined> {
  try {
    const emulator = await start();
    t.teardown(() => emulator.stop());
    t.comment(`${emulator.name} ready on ${emulator.url} after ${Math.round(emulator.startupMs)} ms`);
    return emulator;
  } catch (e) {
    const reason = e instanceof Error ? e.message : String(e);
    t.fail(`emulator did not start: ${reason}`);
    return undefined;
  }
}
