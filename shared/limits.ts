/**
 * Every limit Kith enforces, in one place, each with the reason for its value.
 * Code elsewhere imports these names; a literal limit anywhere else is a bug.
 */

// ---- canonical JSON and objects -------------------------------------------------

/** Nesting depth of any JSON value we canonicalize. Our schemas nest < 10 deep; 64 stops stack-exhaustion bombs with room to spare. */
export const MAX_JSON_DEPTH = 64;
/** Canonical size of one object. Small records (messages, grants, manifests) are < 64 KiB; 1 MiB leaves room for a blob manifest listing ~12k chunks (≈ 12 GiB blob). */
export const MAX_OBJECT_BYTES = 1024 * 1024;
/** Length of any single JSON string. Bounded by the object size anyway; named so hostile-input tests can aim at it. */
export const MAX_STRING_LENGTH = MAX_OBJECT_BYTES;

// ---- identity -------------------------------------------------------------------

/** Display names (person, instance, invitation). Long enough for any real name, short enough to fit a QR code. */
export const MAX_NAME_LENGTH = 64;
/** Email addresses (RFC 5321 path limit). */
export const MAX_EMAIL_LENGTH = 254;

// ---- secrets at rest ------------------------------------------------------------

/** scrypt cost for key files (DESIGN §2): N = 2^17, r = 8, p = 1 — ~0.3 s and 128 MiB here, the interactive setting of the scrypt paper. */
export const SCRYPT_N = 2 ** 17;
export const SCRYPT_R = 8;
export const SCRYPT_P = 1;
/** Memory scrypt may use: 128 * N * r bytes plus headroom (Node's default cap of 32 MiB is too small for N = 2^17). */
export const SCRYPT_MAXMEM = 256 * 1024 * 1024;
/** Key files are a few hundred bytes; anything larger is not ours and is not read into memory. */
export const MAX_KEYFILE_BYTES = 64 * 1024;
/** Passphrases: long enough for any diceware phrase, bounded so scrypt input stays small. */
export const MAX_PASSPHRASE_LENGTH = 1024;

// ---- secure channel -------------------------------------------------------------

/** One Noise message, the Noise spec's maximum (65535 bytes). Each WebSocket message carries exactly one. */
export const MAX_NOISE_MESSAGE = 65535;
/** ws `maxPayload`: a Noise message plus the 1-byte route tag and 32-byte pairing prefix of the first frame. ws's 100 MiB default would let a peer make us buffer 100 MiB. */
export const MAX_WS_PAYLOAD = MAX_NOISE_MESSAGE + 64;
/** Largest application message reassembled from chunks. CHUM batches are ≤ 256 KiB and blob chunks ≤ 1 MiB plus header; 4 MiB bounds per-connection reassembly memory. */
export const MAX_APP_MESSAGE = 4 * 1024 * 1024;
/** Time from TCP accept to a confirmed session. Real handshakes take ~ms on loopback and < 1 s on slow links; 10 s stops slowloris clients. */
export const HANDSHAKE_DEADLINE_MS = 10_000;
/** Handshakes in progress at once per listener. A handshake costs < 1 ms CPU and a few KiB; 256 keeps a flood from exhausting memory while 200 honest peers can connect at once. */
export const MAX_CONCURRENT_HANDSHAKES = 256;
/** Handshake attempts per remote address per minute. Generous for a LAN of devices behind one NAT; stops a single host from grinding the listener. */
export const MAX_ATTEMPTS_PER_ADDRESS_PER_MINUTE = 600;
/** Bytes queued for sending on one connection before `send` waits (backpressure high-water mark). */
export const SEND_HIGH_WATER_BYTES = 1024 * 1024;
/** Keepalive interval on idle sessions; below common NAT/proxy idle timeouts (60 s+). */
export const KEEPALIVE_INTERVAL_MS = 15_000;
/** A session with no inbound traffic (keepalives included) for this long is dead. Three missed keepalives plus slack. */
export const IDLE_TIMEOUT_MS = 50_000;
/** Dialer backoff bounds (DESIGN §5): 1 s to 60 s, exponential, with jitter. */
export const DIAL_BACKOFF_MIN_MS = 1_000;
export const DIAL_BACKOFF_MAX_MS = 60_000;
/** Endpoint URLs per contact or invitation (DESIGN §4: up to 3). */
export const MAX_ENDPOINTS = 3;
/** Length of one endpoint URL; also keeps invitations inside a version-10 QR code. */
export const MAX_ENDPOINT_LENGTH = 100;

// ---- pairing --------------------------------------------------------------------

/** Default invitation lifetime (DESIGN §4: 10 minutes). */
export const INVITE_DEFAULT_TTL_SECONDS = 600;
/** Longest lifetime a user may ask for: one day. Links live in chats; a day bounds the exposure of a leaked one. */
export const INVITE_MAX_TTL_SECONDS = 24 * 60 * 60;
/** Failed redemption attempts before an invitation is burned (DESIGN §4). */
export const INVITE_MAX_FAILED_ATTEMPTS = 5;
/** Open invitations per instance; a registry that can only grow is a memory leak. */
export const MAX_OPEN_INVITES = 64;
/** An encoded invitation link; the payload must fit a QR code of version ≤ 10 at level M (213 bytes of byte-mode data). */
export const MAX_INVITE_LINK_LENGTH = 213;
/** Time a pairing waits for the inviter's person to confirm ("Pair with NAME?"). */
export const PAIRING_CONFIRM_TIMEOUT_MS = 120_000;

// ---- CHUM -----------------------------------------------------------------------

/** Objects per sync batch: ~100 small objects (~25 KB) per frame measured best (notes: sync-and-ceilings). */
export const SYNC_BATCH_OBJECTS = 100;
/** Bytes per sync batch, so a batch of large objects is still one bounded message. */
export const SYNC_BATCH_BYTES = 256 * 1024;
/** Unacknowledged batches in flight per peer (flow-control window). */
export const SYNC_WINDOW_BATCHES = 8;
/** Blob chunk size (DESIGN §3: at most 1 MiB). */
export const BLOB_CHUNK_BYTES = 1024 * 1024;
/** Blob chunk requests in flight per peer (pipelined window). */
export const BLOB_WINDOW_CHUNKS = 4;
