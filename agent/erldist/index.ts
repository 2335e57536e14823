// The public surface of the Erlang distribution client, for the `erlang`
// reload notifier and the erlang-call CLI:
//
//   const { module, function: fn, args } = parseErlangCall('erlmcp_config:reload()');
//   const client = new ErlDistClient({ node: 'erlmcp@127.0.0.1', cookie });
//   const result = await client.call(module, fn, args, { timeoutMs, signal });
//   formatTerm(result); client.close();
//
// Failures are ErlDistError with `kind`: usage | unreachable | not_found |
// cookie | handshake | timeout | closed | badrpc | protocol | encode | decode | limit.

export { parseErlangCall, parseErlangTerm, type ParsedCall } from './call-parser.ts';
export { ErlDistClient, type CallOptions, type ErlDistClientOptions, type TlsFiles } from './client.ts';
export { readCookieFile } from './cookie-file.ts';
export { ErlDistError, isErlDistError, type ErlDistErrorKind } from './errors.ts';
export { decodeTerm } from './etf-decode.ts';
export { encodeTerm } from './etf-encode.ts';
export { formatTerm } from './format.ts';
export { defaultAlive, defaultLocalNodeName } from './node-name.ts';
export { formatRpcReason } from './rpc-reason.ts';
export * from './terms.ts';
