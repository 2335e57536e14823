// Global zod settings, in one place. Every schema module imports this for its
// effect, so they apply whichever schema is parsed first (from source or from
// a provider chunk, which shares zod's global config through globalThis).
//
// - zod/mini configures no locale: without one every message is "Invalid
//   input". Operators read English messages ("Too small: expected string to
//   have >=1 characters"), so only the English locale is loaded; the others
//   never reach the bundle.
// - jitless: zod's JIT compiles a parser for each object schema with
//   `new Function` on first use, which no V8 code cache covers; the agent
//   parses a config once, so the interpreted path is faster (measured with a
//   warm code cache: config parse 2.9 -> 1.2 ms, `init` from the bundle 3-4 ms
//   faster; see bench/init-cold-start.ts). The validation itself is the same.

import * as z from 'zod/mini';
import en from 'zod/v4/locales/en.js';

z.config({ ...en(), jitless: true });
