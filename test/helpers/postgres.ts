// A throwaway PostgreSQL 15 cluster for the database secrets engine tests:
// initdb in a temp dir, postgres on a free 127.0.0.1 port with password
// (scram) logins, stopped and removed on teardown. PostgreSQL refuses to run
// as root, so when the tests run as root the cluster belongs to the Debian
// `postgres` user (setpriv). A test that cannot start it fails with the
// command that installs it.

import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Test } from 'tap';
import { freePort, stopProcess } from './openbao.ts';

export const PG_BIN = '/usr/lib/postgresql/15/bin';
export const PG_INSTALL = 'bash test/setup/install-postgresql.sh (apt-get install postgresql-15 postgresql-client-15)';

export interface Postgres {
  port: number;
  /** the superuser Vault's database engine connects as */
  user: string;
  password: string;
  /** can `user`/`password` log in and run a query? (psql over TCP) */
  canLogIn(user: string, password: string): Promise<{ ok: boolean; stderr: string }>;
  /** a query as the superuser; returns psql's unaligned output */
  query(sql: string): Promise<string>;
  stop(): Promise<void>;
  start(): Promise<void>;
}

function asPostgresUser(cmd: string, args: string[]): [string, string[]] {
  if (process.getuid?.() !== 0) return [cmd, args];
  return ['setpriv', ['--reuid=postgres', '--regid=postgres', '--clear-groups', '--', cmd, ...args]];
}

function psql(port: number, user: string, password: string, sql: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'psql',
      ['-h', '127.0.0.1', '-p', String(port), '-U', user, '-d', 'postgres', '-X', '-A', '-t', '-v', 'ON_ERROR_STOP=1', '-c', sql],
      // the password goes through the environment, never argv
      { env: { PATH: process.env.PATH, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' }, encoding: 'utf8', timeout: 20_000 },
      (err, stdout, stderr) => resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
  });
}

/** `bin`: where initdb and postgres are (Debian's PostgreSQL 15 unless told) */
export async function startPostgres(t: Test, bin = PG_BIN): Promise<Postgres> {
  if (!existsSync(join(bin, 'initdb'))) throw new Error(`PostgreSQL 15 is not installed (${bin}/initdb missing): install it with: ${PG_INSTALL}`);
  const dir = mkdtempSync(join(tmpdir(), 'pg-'));
  const data = join(dir, 'data');
  const user = 'vaultadmin';
  const password = `pg-admin-${process.pid}-${Date.now()}`;
  writeFileSync(join(dir, 'pw'), password);
  if (process.getuid?.() === 0) {
    const pg = execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim();
    chownSync(dir, Number(pg), Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim()));
    chownSync(join(dir, 'pw'), Number(pg), -1);
  }
  const [initCmd, initArgs] = asPostgresUser(join(bin, 'initdb'), ['-D', data, '-U', user, `--pwfile=${join(dir, 'pw')}`, '--auth=scram-sha-256', '-E', 'UTF8', '--no-sync']);
  try {
    execFileSync(initCmd, initArgs, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, LC_ALL: 'C' } });
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String((e as { stderr?: unknown }).stderr ?? e)}; install PostgreSQL with: ${PG_INSTALL}`);
  }
  const port = await freePort();
  let proc: ChildProcess | undefined;
  let log = '';

  const start = async (): Promise<void> => {
    log = '';
    const [cmd, args] = asPostgresUser(join(bin, 'postgres'), ['-D', data, '-h', '127.0.0.1', '-p', String(port), '-k', dir, '-c', 'fsync=off', '-c', 'max_connections=50']);
    proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH: process.env.PATH, LC_ALL: 'C' } });
    proc.stderr!.setEncoding('utf8').on('data', (d: string) => (log = (log + d).slice(-10_000)));
    const until = Date.now() + 30_000;
    for (;;) {
      if (proc.exitCode !== null) throw new Error(`postgres exited (${proc.exitCode}): ${log}; install: ${PG_INSTALL}`);
      const r = await psql(port, user, password, 'select 1');
      if (r.code === 0) return;
      if (Date.now() > until) throw new Error(`postgres did not accept logins within 30s: ${r.stderr} ${log}`);
      await new Promise((res) => setTimeout(res, 150));
    }
  };
  // SIGINT: postgres's "fast" shutdown, sessions are ended at once
  const stop = (): Promise<void> => stopProcess(proc, 'SIGINT', 10_000);
  t.teardown(async () => {
    await stop();
    rmSync(dir, { recursive: true, force: true });
  });
  await start();
  return {
    port,
    user,
    password,
    canLogIn: async (u, pw) => {
      const r = await psql(port, u, pw, 'select current_user');
      return { ok: r.code === 0 && r.stdout.trim() === u, stderr: r.stderr };
    },
    query: async (sql) => {
      const r = await psql(port, user, password, sql);
      if (r.code !== 0) throw new Error(`psql failed: ${r.stderr}`);
      return r.stdout;
    },
    stop,
    start,
  };
}
