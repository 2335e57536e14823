// The loader's runtime (see code-cache-loader.cjs): compiles the program and
// the provider chunks with a V8 code cache, and is the program's require().
// It is compiled from its own string so that nothing it keeps alive refers
// to the loader's source, which holds the whole payload.
(function runtime(layout, exports, require, module, __filename, __dirname) {
  'use strict';
  const fs = require('node:fs');
  /** [from the end of this file, length] -> those bytes, as a string. Only
   * they are read: Node has read the whole file once already. */
  const readPayload = ([fromEnd, length]) => {
    const fd = fs.openSync(__filename, 'r');
    try {
      const bytes = Buffer.alloc(length);
      const start = fs.fstatSync(fd).size - fromEnd;
      return bytes.latin1Slice(0, start >= 0 ? fs.readSync(fd, bytes, 0, length, start) : 0);
    } finally {
      fs.closeSync(fd);
    }
  };
  // the program is ASCII (the build checks), so latin1 is exact
  const program = readPayload(layout.program).replaceAll(layout.sentinel, '*/');
  if (!program.startsWith(layout.programStart)) throw new Error(`erlmcp-secrets: ${__filename} has lost its payload; reinstall it`);
  const path = require('node:path');
  const vm = require('node:vm');
  const os = require('node:os');
  const uid = typeof process.getuid === 'function' ? process.getuid() : -1;
  const setting = process.env.ERLMCP_SECRETS_CODE_CACHE;
  const dir = setting === 'off' ? undefined : setting || path.join(os.tmpdir(), `erlmcp-secrets-${uid}`);
  const command = /^[a-z-]{1,16}$/.test(process.argv[2] || '') ? process.argv[2] : 'other';
  // image build (image/warm-code-cache.mjs): write the caches again even when
  // they were taken, so that one provider's run adds its functions to what
  // the runs before it compiled
  const warming = process.env.ERLMCP_SECRETS_CODE_CACHE_WARM === '1';
  // V8 rejects a cache made under other flags (--lite-mode, ...): each set of
  // node flags gets its own files, so runs with different flags never take
  // turns overwriting one cache (FNV-1a: no node:crypto at start-up)
  let flagsTag = '';
  if (process.execArgv.length > 0) {
    let h = 0x811c9dc5;
    for (const c of process.execArgv.join(' ')) h = Math.imul(h ^ c.charCodeAt(0), 0x01000193) >>> 0;
    flagsTag = `-f${h.toString(16)}`;
  }
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
    let wrote = false;
    for (const { file, script } of unsaved.splice(0)) {
      try {
        fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
        const tmp = `${file}.${process.pid}.tmp`;
        fs.writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        fs.renameSync(tmp, file);
        wrote = true;
      } catch {}
    }
    if (wrote) pruneOtherBuilds();
  }
  // Every build's caches carry its id, and a replaced build's stay behind:
  // about 16 MB per build in the temp dir of a machine that updates the
  // agent or runs its tests. Once this build has written a cache (a new
  // build does, at its first runs; a warm one never gets here), the caches
  // of other builds unused for STALE_MS go, and temp files a killed writer
  // left. Unused: neither written nor read, by the later of mtime and atime
  // (Linux's default relatime moves atime on a read at least once a day; on
  // a noatime mount a build in use loses its cache once a week and writes it
  // again). Only files named as this runtime names them, in a folder it trusts.
  const STALE_MS = 7 * 24 * 3600_000;
  const CACHE_FILE = /^([0-9a-f]{16})-[a-z0-9-]+-v\d[\w.-]*\.v8cache(\.\d+\.tmp)?$/;
  function pruneOtherBuilds() {
    dirTrusted = undefined;
    let names;
    try {
      // a folder reached through a symlink could be swapped between the check and the deletes
      if (!trusted() || fs.lstatSync(dir).isSymbolicLink()) return;
      names = fs.readdirSync(dir);
    } catch {
      return;
    }
    const now = Date.now();
    for (const name of names) {
      const m = CACHE_FILE.exec(name);
      if (!m || (m[1] === layout.id && !m[2])) continue;
      try {
        const at = path.join(dir, name);
        const st = fs.lstatSync(at);
        if (st.isFile() && now - Math.max(st.mtimeMs, st.atimeMs) > STALE_MS) fs.unlinkSync(at);
      } catch {}
    }
  }
  if (dir) {
    process.once('exit', saveCaches);
    setTimeout(saveCaches, CHECKPOINT_MS).unref();
  }

  function compile(source, name) {
    const file = dir && path.join(dir, `${layout.id}-${name}-${process.version}-${process.arch}${flagsTag}.v8cache`);
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
    if (file && (!cachedData || script.cachedDataRejected || warming)) unsaved.push({ file, script });
    return script.runInThisContext();
  }

  const chunks = new Map();
  function programRequire(id) {
    if (id.startsWith('erlmcp-chunk:')) {
      const name = id.slice('erlmcp-chunk:'.length);
      let mod = chunks.get(name);
      if (!mod) {
        const at = layout.chunks[name];
        if (!at) throw new Error(`erlmcp-secrets: no provider chunk "${name}" in this build`);
        const compressed = Buffer.from(readPayload(at), 'base64');
        const source = require('node:zlib').brotliDecompressSync(compressed).toString('utf8');
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

  compile(program, command)(exports, programRequire, module, __filename, __dirname);
})
