// A mounted Kubernetes Secret whose keys are Object.prototype names: each file
// is a key like any other, and "__proto__" neither vanishes nor replaces the
// prototype of the data the templates see.

import t from 'tap';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readKeysDir } from '../../agent/providers/file/read-keys-dir.ts';

t.test('prototype names as key files', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'keys-dir-names-'));
  const names = ['__proto__', 'constructor', 'toString', 'valueOf', 'hasOwnProperty'];
  for (const n of names) writeFileSync(path.join(dir, n), `value of ${n}`);
  const data = await readKeysDir({ display: './db', abs: dir }, 'local', new AbortController().signal);
  t.same(Object.keys(data).sort(), [...names].sort(), 'every file is an own key');
  for (const n of names) t.equal(Object.getOwnPropertyDescriptor(data, n)?.value, `value of ${n}`, `${n} holds its file`);
  t.equal(Object.getPrototypeOf(data), Object.prototype, 'the prototype is untouched');
});
