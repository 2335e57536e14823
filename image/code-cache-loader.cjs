#!/usr/bin/env node
// erlmcp-secrets. This file is a loader. The program and each cloud provider
// (with its SDK, a brotli-compressed chunk) sit in the closing comment below:
// V8 skips a comment about three times faster than it scans a string literal
// of the same size, a chunk that is never used never becomes a string in the
// heap, and once started, nothing refers to this file's source any more, so
// its megabytes are garbage (the runtime is compiled from its own string).
// Chunks are read back from this file, decompressed and compiled only when a
// provider of that type is configured. Everything is compiled with a V8 code
// cache, written once the command has run for a while or at exit (so it
// holds every function that command compiled) and reused later.
//
// ERLMCP_SECRETS_CODE_CACHE: a directory for the caches (the image sets one
// it filled at build time), or "off". Default: <tmpdir>/erlmcp-secrets-<uid>.
// A cache is read only from a directory that this user (or root) owns and
// nobody else can write: code cache is code. ERLMCP_SECRETS_CODE_CACHE_WARM=1
// (image builds: image/warm-code-cache.mjs) writes the caches at exit even
// when they were taken, adding what this run compiled.
'use strict';
// SIGUSR1 would open the V8 inspector until the program installs its signal
// guard (agent/cli/signal-guard.ts, which removes this listener): closed from
// the first line on. Function.prototype is a no-op that is not a closure of
// this script: one would keep this source, and the whole payload, alive.
process.on('SIGUSR1', Function.prototype);
// where the program and the chunks are: offsets from the end of this file; the
// program's own star-slash pairs are stored as the sentinel so the comment holds
require('node:vm').runInThisContext(__RUNTIME__, { filename: `${__filename}#loader` })(__LAYOUT__, exports, require, module, __filename, __dirname);
