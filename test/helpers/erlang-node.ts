// Real Erlang nodes for tests: each test file gets its own EPMD on a private
// port (ERL_EPMD_PORT), so it neither sees nor disturbs a system EPMD or other
// test files; `erl` starts that EPMD itself. Teardown kills every node and
// then that EPMD, leaving nothing behind.

import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import net from 'node:net';
import type { Test } from 'tap';

export interface NodeSpec {
  /** -sname NAME (host part: this machine's short hostname) */
  sname?: string;
  /** -name NAME@HOST */
  name?: string;
  cookie: string;
  /** run without EPMD: -start_epmd false -erl_epmd_port PORT */
  fixedPort?: number;
  /** TLS distribution: -proto_dist inet_tls -ssl_dist_optfile FILE */
  tlsOptFile?: string;
  /** extra code paths (-pa) */
  codePaths?: string[];
  extraArgs?: string[];
}

export interface RunningNode {
  /** the node's full name, as node() returns it */
  node: string;
  proc: ChildProcess;
  output(): string;
  /** SIGKILL and wait for the exit */
  kill(): Promise<void>;
  readonly exited: Promise<void>;
}

export function uniqueName(prefix: string): string {
  return `${prefix}_${process.pid}_${randomBytes(3).toString('hex')}`;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (typeof addr === 'object' && addr !== null ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function run(cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { env, timeout: 10_000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

export class ErlangNodes {
  readonly epmdPort: number;
  private readonly nodes: RunningNode[] = [];
  private epmdUsed = false;

  private constructor(epmdPort: number) {
    this.epmdPort = epmdPort;
  }

  /** A private EPMD scope for one test; everything is torn down with `t`. */
  static async forTest(t: Test): Promise<ErlangNodes> {
    const scope = new ErlangNodes(await freePort());
    t.teardown(() => scope.shutdown());
    return scope;
  }

  /** Without a test (benchmarks): the caller must await shutdown(). */
  static async standalone(): Promise<ErlangNodes> {
    return new ErlangNodes(await freePort());
  }

  get env(): NodeJS.ProcessEnv {
    return { ...process.env, ERL_EPMD_PORT: String(this.epmdPort), ERL_EPMD_ADDRESS: '127.0.0.1' };
  }

  async start(spec: NodeSpec): Promise<RunningNode> {
    // Loopback only: the distribution listener (inet_dist_use_interface) and,
    // through ERL_EPMD_ADDRESS in env, the EPMD that erl starts.
    const args: string[] = ['-noinput', '+S', '1:1', '+A', '1', '-setcookie', spec.cookie,
      '-kernel', 'inet_dist_use_interface', '{127,0,0,1}'];
    if (spec.sname !== undefined) args.push('-sname', spec.sname);
    if (spec.name !== undefined) args.push('-name', spec.name);
    if (spec.fixedPort !== undefined) {
      args.push('-start_epmd', 'false', '-erl_epmd_port', String(spec.fixedPort));
    } else {
      this.epmdUsed = true;
    }
    if (spec.tlsOptFile !== undefined) args.push('-proto_dist', 'inet_tls', '-ssl_dist_optfile', spec.tlsOptFile);
    for (const p of spec.codePaths ?? []) args.push('-pa', p);
    args.push(...(spec.extraArgs ?? []));
    args.push('-eval', 'io:format("ERLDIST_READY ~s~n", [node()])');

    // A node with a fixed port must not find an EPMD at all: point it at our
    // private port, where (for a fixed-port-only test) nothing listens.
    const proc = spawn('erl', args, { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout?.on('data', (c: Buffer) => (out += c.toString()));
    proc.stderr?.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
    const node = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`erl did not start within 30 s:\n${out}`));
      }, 30_000);
      const check = (): void => {
        const m = /ERLDIST_READY (\S+)/.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1] as string);
        }
      };
      proc.stdout?.on('data', check);
      void exited.then(() => {
        clearTimeout(timer);
        reject(new Error(`erl exited before it was ready:\n${out}`));
      });
    });
    const running: RunningNode = {
      node,
      proc,
      output: () => out,
      exited,
      kill: async () => {
        if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        await exited;
      },
    };
    this.nodes.push(running);
    return running;
  }

  /** Kills our nodes, then the EPMD they started (it refuses while nodes are registered). */
  async shutdown(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.kill()));
    if (!this.epmdUsed) return;
    const env = this.env;
    for (let i = 0; i < 50; i++) {
      const { out } = await run('epmd', ['-port', String(this.epmdPort), '-kill'], env);
      if (/Killed|no epmd|cannot connect|Connection refused/i.test(out)) return;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}
