// Reads a file with a real `erl` and file:consult/1, the way an Erlang
// release reads sys.config, and hands the terms back to JavaScript:
// binaries become Buffers (exact bytes), atoms { atom }, tuples { tuple },
// maps { map: [k, v][] } sorted by key, lists arrays, integers numbers.

import { execFileSync } from 'node:child_process';

export type ErlangTerm = Buffer | number | { atom: string } | { tuple: ErlangTerm[] } | { map: Array<[ErlangTerm, ErlangTerm]> } | ErlangTerm[];

// Atoms go through hex as well, so nothing in the output needs JSON escaping.
const PROGRAM = `
Hex = fun(B) -> binary_to_list(binary:encode_hex(B)) end,
Enc = fun Enc(B) when is_binary(B) -> ["{\\"b\\":\\"", Hex(B), "\\"}"];
          Enc(A) when is_atom(A) -> ["{\\"a\\":\\"", Hex(atom_to_binary(A, utf8)), "\\"}"];
          Enc(I) when is_integer(I) -> integer_to_list(I);
          Enc(L) when is_list(L) -> ["[", lists:join(",", [Enc(X) || X <- L]), "]"];
          Enc(T) when is_tuple(T) -> ["{\\"t\\":", Enc(tuple_to_list(T)), "}"];
          Enc(M) when is_map(M) -> ["{\\"m\\":", Enc([[K, V] || {K, V} <- lists:sort(maps:to_list(M))]), "}"]
      end,
case file:consult(os:getenv("CONSULT_FILE")) of
  {ok, Terms} -> io:put_chars(Enc(Terms)), halt(0);
  {error, Reason} -> io:format(standard_error, "~p~n", [Reason]), halt(1)
end.`;

/** All terms in the file, or throws with erl's own error (e.g. a syntax error and its line). */
export function consultErlang(file: string): ErlangTerm[] {
  let out: string;
  try {
    out = execFileSync('erl', ['-noshell', '-eval', PROGRAM], {
      env: { ...process.env, CONSULT_FILE: file },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new Error(`file:consult(${file}) failed: ${stderr.trim()}`, { cause: e });
  }
  return revive(JSON.parse(out)) as ErlangTerm[];
}

function revive(v: unknown): ErlangTerm {
  if (typeof v === 'number') return v;
  if (Array.isArray(v)) return v.map(revive);
  const o = v as { b?: string; a?: string; t?: unknown[]; m?: unknown[][] };
  if (o.b !== undefined) return Buffer.from(o.b, 'hex');
  if (o.a !== undefined) return { atom: Buffer.from(o.a, 'hex').toString('utf8') };
  if (o.t !== undefined) return { tuple: o.t.map(revive) };
  if (o.m !== undefined) return { map: o.m.map(([k, val]) => [revive(k), revive(val)] as [ErlangTerm, ErlangTerm]) };
  throw new Error(`unexpected term encoding: ${JSON.stringify(v)}`);
}
