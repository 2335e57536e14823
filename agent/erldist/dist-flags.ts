// Distribution capability flags (lib/kernel/include/dist.hrl, erts dist.h).
// Flags are 64 bits in the version-6 handshake, hence bigint.

export const DFLAG_PUBLISHED = 0x01n;
export const DFLAG_EXTENDED_REFERENCES = 0x04n;
export const DFLAG_DIST_MONITOR = 0x08n;
export const DFLAG_FUN_TAGS = 0x10n;
export const DFLAG_NEW_FUN_TAGS = 0x80n;
export const DFLAG_EXTENDED_PIDS_PORTS = 0x100n;
export const DFLAG_EXPORT_PTR_TAG = 0x200n;
export const DFLAG_BIT_BINARIES = 0x400n;
export const DFLAG_NEW_FLOATS = 0x800n;
export const DFLAG_UNICODE_IO = 0x1000n;
export const DFLAG_DIST_HDR_ATOM_CACHE = 0x2000n;
export const DFLAG_SMALL_ATOM_TAGS = 0x4000n;
export const DFLAG_UTF8_ATOMS = 0x10000n;
export const DFLAG_MAP_TAG = 0x20000n;
export const DFLAG_BIG_CREATION = 0x40000n;
export const DFLAG_SEND_SENDER = 0x80000n;
export const DFLAG_BIG_SEQTRACE_LABELS = 0x100000n;
export const DFLAG_EXIT_PAYLOAD = 0x400000n;
export const DFLAG_FRAGMENTS = 0x800000n;
export const DFLAG_HANDSHAKE_23 = 0x1000000n;
export const DFLAG_UNLINK_ID = 0x2000000n;
export const DFLAG_MANDATORY_25_DIGEST = 0x4000000n;
export const DFLAG_SPAWN = 1n << 32n;
export const DFLAG_NAME_ME = 1n << 33n;
export const DFLAG_V4_NC = 1n << 34n;
export const DFLAG_ALIAS = 1n << 35n;

/** What OTP 25 refuses to connect without (MANDATORY_DFLAGS_25 in dist.hrl). */
export const MANDATORY_25 =
  DFLAG_EXTENDED_REFERENCES |
  DFLAG_FUN_TAGS |
  DFLAG_EXTENDED_PIDS_PORTS |
  DFLAG_NEW_FUN_TAGS |
  DFLAG_EXPORT_PTR_TAG |
  DFLAG_BIT_BINARIES |
  DFLAG_NEW_FLOATS |
  DFLAG_UTF8_ATOMS |
  DFLAG_MAP_TAG |
  DFLAG_BIG_CREATION |
  DFLAG_HANDSHAKE_23;

/** Added to the mandatory set by OTP 26. */
export const MANDATORY_26 = DFLAG_V4_NC | DFLAG_UNLINK_ID;

/**
 * What we advertise. No DFLAG_PUBLISHED: we are a hidden node, so the target
 * does not add us to nodes() or mesh us with its cluster. No atom cache and no
 * fragments: every message arrives as one pass-through frame.
 */
export const OUR_FLAGS =
  MANDATORY_25 |
  MANDATORY_26 |
  DFLAG_MANDATORY_25_DIGEST |
  DFLAG_SMALL_ATOM_TAGS |
  DFLAG_UNICODE_IO |
  DFLAG_BIG_SEQTRACE_LABELS;

/** The subset of the peer's flags we cannot do without. */
export const REQUIRED_FROM_PEER = DFLAG_HANDSHAKE_23 | DFLAG_UTF8_ATOMS | DFLAG_NEW_FLOATS | DFLAG_BIG_CREATION;
