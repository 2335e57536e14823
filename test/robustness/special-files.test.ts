// Files the agent is pointed at that are not what they claim: a FIFO (which
// used to hang the agent silently), /dev/zero (656 MB read as a template
// source, 2.5 GB as a cookie), a directory, a symlink to /dev/zero, and a
// regular file over the cap. For every kind of file the agent reads (config,
// template source, file-provider secret, Erlang cookie, Vault credential,
// TLS CA file), through the built bundle: the exit code of the contract, a
// message naming the file and what to do, within bounded time and memory.

import t from 'tap';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { READ_LIMITS } from '../../agent/files/read-limits.ts';
import { BUNDLE } from '../helpers/cli.ts';
import { measuredRun } from '../helpers/measured-run.ts';

/** generous: the machine is shared; a hang is killed at 60 s */
const MAX_MS = 20_000;
/** bare node runs in ~45 MiB here; reading /dev/zero took gigabytes */
const MAX_RSS_MIB = 160;

type Hostile = 'fifo' | 'dev-zero' | 'directory' | 'symlink-to-dev-zero' | 'over-cap';
const HOSTILE: Hostile[] = ['fifo', 'dev-zero', 'directory', 'symlink-to-dev-zero', 'over-cap'];

/** puts the hostile thing at `at`; returns the path the agent is given */
function plant(kind: Hostile, at: string, limit: number): string {
  switch (kind) {
    case 'fifo':
      execFileSync('mkfifo', [at]);
      return at;
    case 'dev-zero':
      return '/dev/zero';
    case 'directory':
      mkdirSync(at);
      return at;
    case 'symlink-to-dev-zero':
      symlinkSync('/dev/zero', at);
      return at;
    case 'over-cap':
      writeFileSync(at, Buffer.alloc(limit + 1, 'a'));
      return at;
  }
}

/** what the message says about the thing */
const SAYS: Record<Hostile, RegExp> = {
  fifo: /is a FIFO \(named pipe\), not a regular file/,
  'dev-zero': /is a character device, not a regular file/,
  directory: /is a directory, not a regular file/,
  'symlink-to-dev-zero': /is a character device, not a regular file/,
  'over-cap': /(is )?larger than/,
};

interface Kind {
  name: string;
  limit: number;
  /** the exit code of the contract */
  exit: number;
  /** what to do, in the message */
  todo: RegExp;
  /** hostile cases that mean something else for this kind */
  skip?: Hostile[];
  /** writes the workspace around `file`; the command to run */
  setup(dir: string, file: string): string[];
}

const VAULT_DOWN = 'http://127.0.0.1:9';

const KINDS: Kind[] = [
  {
    name: 'config file',
    limit: READ_LIMITS.config,
    exit: 2,
    todo: /pass the agent config|is this the right file/,
    setup: (_dir, file) => ['check', '-c', file],
  },
  {
    name: 'template source',
    limit: READ_LIMITS.templateSource,
    exit: 2,
    todo: /point source at the template file|is this the right file/,
    setup: (dir, file) => {
      writeFileSync(path.join(dir, 'agent.yaml'), `providers: { local: { type: file, path: ./secrets } }\nsecrets: { db: { provider: local } }\ntemplates: [ { source: ${JSON.stringify(file)}, destination: app.conf } ]\noutput: { root: ./out }\n`);
      return ['check', '-c', path.join(dir, 'agent.yaml')];
    },
  },
  {
    name: 'file-provider secret',
    limit: READ_LIMITS.secretFile,
    // a value the backend holds but that is no secret: rule broken (3)
    exit: 3,
    todo: /check the provider path/,
    // a directory there is a secret whose keys are its files, by design
    skip: ['directory'],
    setup: (dir, file) => {
      // the provider's directory holds the file (for /dev/zero: /dev)
      writeFileSync(path.join(dir, 'agent.yaml'), `providers: { local: { type: file, path: ${JSON.stringify(path.dirname(file))} } }\nsecrets: { db: { provider: local, path: ${path.basename(file)} } }\ntemplates: [ { contents: "{{db.value}}", destination: app.conf } ]\noutput: { root: ./out }\ninit: { timeout: 10s }\n`);
      return ['init', '-c', path.join(dir, 'agent.yaml')];
    },
  },
  {
    name: 'Erlang cookie file',
    limit: READ_LIMITS.cookie,
    exit: 2,
    todo: /point it at a regular file|is this the right file/,
    setup: (_dir, file) => ['erlang-call', '--node', 'erlmcp@127.0.0.1', '--epmd-port', '9', '--cookie-file', file, 'erlang:node()'],
  },
  {
    name: 'Vault credential file',
    limit: READ_LIMITS.credential,
    // the backend refused our identity: we have none to give (4)
    exit: 4,
    todo: /point it at a regular file|is this the right file/,
    setup: (dir, file) => {
      writeFileSync(path.join(dir, 'agent.yaml'), `providers: { vault: { type: vault, address: "${VAULT_DOWN}", auth: { method: token, tokenFile: ${JSON.stringify(file)} } } }\nsecrets: { db: { provider: vault, path: secret/data/db } }\ntemplates: [ { contents: "{{db.password}}", destination: app.conf } ]\noutput: { root: ./out }\ninit: { timeout: 10s }\n`);
      return ['init', '-c', path.join(dir, 'agent.yaml')];
    },
  },
  {
    name: 'Erlang distribution TLS file',
    limit: READ_LIMITS.tls,
    exit: 2,
    todo: /point it at a regular file|is this the right file/,
    // read synchronously before the connect: a FIFO here used to block the
    // event loop so that no deadline, nor SIGTERM, could end the command
    setup: (dir, file) => {
      writeFileSync(path.join(dir, 'cookie'), 'COOKIE');
      return ['erlang-call', '--node', 'erlmcp@127.0.0.1', '--port', '9', '--connect-timeout', '2000', '--cookie-file', path.join(dir, 'cookie'), '--tls-ca', file, '--tls-cert', file, '--tls-key', file, 'erlang:node()'];
    },
  },
  {
    name: 'webhook config (webhook preview --config)',
    limit: READ_LIMITS.config,
    exit: 2,
    todo: /point it at a regular file|is this the right file/,
    setup: (dir, file) => {
      writeFileSync(path.join(dir, 'pod.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: { name: p }\nspec: { containers: [ { name: app, image: app } ] }\n');
      return ['webhook', 'preview', '-f', path.join(dir, 'pod.yaml'), '--config', file];
    },
  },
  {
    name: 'TLS CA file',
    limit: READ_LIMITS.tls,
    exit: 2,
    todo: /point it at a regular file|is this the right file/,
    setup: (dir, file) => {
      writeFileSync(dir + '/token', 'hvs.x');
      writeFileSync(path.join(dir, 'agent.yaml'), `providers: { vault: { type: vault, address: "https://127.0.0.1:9", tls: { caFile: ${JSON.stringify(file)} }, auth: { method: token, tokenFile: ./token } } }\nsecrets: { db: { provider: vault, path: secret/data/db } }\ntemplates: [ { contents: "{{db.password}}", destination: app.conf } ]\noutput: { root: ./out }\ninit: { timeout: 10s }\n`);
      return ['init', '-c', path.join(dir, 'agent.yaml')];
    },
  },
];

for (const kind of KINDS) {
  t.test(`${kind.name}: refused at once, named, exit ${kind.exit}`, async (t) => {
    for (const hostile of HOSTILE.filter((h) => !kind.skip?.includes(h))) {
      const dir = mkdtempSync(path.join(tmpdir(), 'special-files-'));
      t.teardown(() => rmSync(dir, { recursive: true, force: true }));
      mkdirSync(path.join(dir, 'secrets'));
      writeFileSync(path.join(dir, 'secrets/ok'), 'fine');
      const file = plant(hostile, path.join(dir, 'secrets', 'thing'), kind.limit);
      const args = kind.setup(dir, file);
      const r = await measuredRun([process.execPath, BUNDLE, ...args], { cwd: dir, env: { ERLMCP_SECRETS_CODE_CACHE: 'off' } });
      const what = `${hostile}: `;
      t.equal(r.code, kind.exit, `${what}exit ${kind.exit}${r.code !== kind.exit ? `\n${r.stderr.slice(-1500)}` : ''}`);
      const said = r.stderr.replace(/\\"/g, '"');
      t.ok(said.includes(file), `${what}the message names ${file}`);
      t.match(said, SAYS[hostile], `${what}says what the file is`);
      t.match(said, kind.todo, `${what}says what to do`);
      t.ok(r.ms < MAX_MS, `${what}done in ${r.ms} ms (bound ${MAX_MS})`);
      t.ok(r.maxRssMiB < MAX_RSS_MIB, `${what}peak RSS ${r.maxRssMiB.toFixed(1)} MiB (bound ${MAX_RSS_MIB})`);
      t.comment(`${kind.name} / ${hostile}: exit ${r.code}, ${r.ms} ms, peak RSS ${r.maxRssMiB.toFixed(1)} MiB`);
    }
  });
}
