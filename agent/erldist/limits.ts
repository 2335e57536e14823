// What the client accepts from a peer. A node is trusted only after it has
// proved it knows the cookie, and even then a broken or hostile one must not
// cost the agent more than a few MB or a bounded time per message, nor block
// the event loop. The agent only makes rpc calls whose replies are small
// (`ok`, `{error, Reason}`, a listing an operator asked for), so each limit
// sits far above any real reply and far below what would hurt the process.

/** EPMD answers before any authentication. PORT2_RESP is 12 bytes plus the
 * node name; NAMES_RESP one short line per registered node. 64 KiB holds
 * hundreds of nodes. */
export const MAX_EPMD_REPLY_BYTES = 64 * 1024;

/** Handshake packets before the cookie is proved: the longest is the
 * challenge, 19 bytes plus a node name (an atom: at most 255 characters,
 * 1020 bytes of UTF-8). */
export const MAX_HANDSHAKE_PACKET_BYTES = 2 * 1024;

/** One distribution frame after the handshake. Also the most a compressed
 * term may inflate to: compression must not let through what the frame cap
 * stops. */
export const MAX_FRAME_BYTES = 4 * 1024 * 1024;
/** Frames that answer no call of ours, counted since the last that did. A
 * node sends a hidden node that only makes rpc calls nothing but replies and
 * ticks (ticks are not counted); a flood of other frames is dropped with the
 * connection once it passes this, so its garbage cannot pile up faster than
 * the collector frees it (a flood of 2.5 MB frames of fresh atoms reached
 * ~150 MiB before). */
export const MAX_UNSOLICITED_BYTES = 8 * 1024 * 1024;

/** The estimated JS memory one decoded message may take (see etf-decode.ts:
 * each term is charged roughly what V8 allocates for it). A frame of millions
 * of one-byte terms (empty lists, small integers) would otherwise grow ~100x
 * in memory. */
export const MAX_DECODED_BYTES = 16 * 1024 * 1024;

/** Nesting of decoded terms, of parsed call arguments and of encoded terms:
 * every walk over a term is recursive, and 1000 levels stay far from the JS
 * stack limit in all of them. */
export const MAX_TERM_DEPTH = 1_000;

/** Erlang's own limit on the length of an atom (characters). */
export const MAX_ATOM_CHARS = 255;

/** Bytes of one bignum (SMALL_BIG/LARGE_BIG magnitude): 4 KiB is a
 * 9864-digit integer. Conversion is linear, but the printed form is not. */
export const MAX_BIG_BYTES = 4 * 1024;
