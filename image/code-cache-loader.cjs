#!/usr/bin/env node
// erlmcp-secrets. This file is a loader: the program is kept below as a
// string, so V8 does not parse megabytes of JavaScript at every start, and
// each cloud provider (with its SDK) as a compressed chunk, decompressed and
// compiled only when a provider of that type is configured. Everything is
// compiled with a V8 code cache, written once the command has run for a while
// or at exit (so it holds every function that command compiled) and reused
// later. (Keeping the program in a closing comment instead of a string, read
// back with a second read of this file, measured no faster.)
//
// ERLMCP_SECRETS_CODE_CACHE: a directory for the caches (the image sets one
// it filled at build time), or "off". Default: <tmpdir>/erlmcp-secrets-<uid>.
// A cache is read only from a directory that this user (or root) owns and
// nobody else can write: code cache is code.
'use strict';
const PROGRAM = __PROGRAM__;
const CHUNKS = __CHUNKS__;
const PROGRAM_ID = __PROGRAM_ID__;
(function load() {
  const fs = require('node:fs');
  const path = require('node:path');
  const vm = require('node:vm');
  const os = require('node:os');
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const setting = process.env.ERLMCP_SECRETS_CODE_CACHE;
  const dir = setting === 'off' ? undefined : setting || path.join(os.tmpdir(), `erlmcp-secrets-${uid}`);
  const command = /^[a-z-]{1,16}$/.test(process.argv[2] || '') ? process.argv[2] : 'other';
  let dirTrusted;
  const trusted = () => {
    if (dirTrusted === undefined) {
      try {
        const st = fs.statSync(dir);
        dirTrusted = (uid === -1 || st.uid === uid || st.uid === 0) && (st.mode & 0o022) === 0;
      } catch {
        dirTrusted = false;
      }
    }
    return dirTrusted;
  };

  // A cache holds the functions compiled before it is made, so it is made
  // late: at exit, or CHECKPOINT_MS after start for the commands that keep
  // running (run, exec, webhook), whose start-up is over by then and which
  // may never exit cleanly (SIGKILL after the grace period).
  const CHECKPOINT_MS = 10_000;
  const unsaved = [];
  function saveCaches() {
    for (const { file, script } of unsaved.splice(0)) {
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, file);
      } catch {}
    }
  }
  if (dir) {
    process.once('exit', saveCaches);
    setTimeout(saveCaches, CHECKPOINT_MS).unref();
  }

  function compile(source, name) {
    const file = dir && path.join(dir, `${PROGRAM_ID}-${name}-${process.version}-${process.arch}.v8cache`);
    let cachedData;
    if (file && trusted()) {
      try {
        cachedData = fs.readFileSync(file);
      } catch {}
    }
    const script = new vm.Script(source, {
      filename: name === command ? __filename : `${__filename}#${name}`,
      cachedData,
    });
    if (file && (!cachedData || script.cachedDataRejected)) unsaved.push({ file, script });
    return script.runInThisContext();
  }

  const chunks = new Map();
  function programRequire(id) {
    if (id.startsWith('erlmcp-chunk:')) {
      const name = id.slice('erlmcp-chunk:'.length);
      let mod = chunks.get(name);
      if (!mod) {
        if (!CHUNKS[name]) throw new Error(`erlmcp-secrets: no provider chunk "${name}" in this build`);
        const source = require('node:zlib').brotliDecompressSync(Buffer.from(CHUNKS[name], 'base64')).toString('utf8');
        mod = { exports: {} };
        chunks.set(name, mod);
        compile(source, `${command}-${name}`)(mod.exports, programRequire, mod, __filename, __dirname);
      }
      return mod.exports;
    }
    if (id.startsWith('erlmcp-core:')) {
      const shared = globalThis[Symbol.for('erlmcp-secrets.shared-modules')];
      const mod = shared && shared[id.slice('erlmcp-core:'.length)];
      if (!mod) throw new Error(`erlmcp-secrets: shared module ${id} is missing from this build`);
      return mod;
    }
    return require(id);
  }

  compile(PROGRAM, command)(exports, programRequire, module, __filename, __dirname);
})();
