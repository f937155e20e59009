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
/** Length of an object's `$type`. Types are short identifiers ("Person", "ChannelEntry"); 64 leaves room for dotted application names. */
export const MAX_TYPE_LENGTH = 64;

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
/** Lowest scrypt N a key file may name, and only when a test passes the explicit test-only parameter (production files use SCRYPT_N). */
export const KEYFILE_TEST_MIN_SCRYPT_N = 2 ** 10;
/** identity.json holds four small public records (~1.5 KiB); anything larger is not ours and is not read into memory. */
export const MAX_IDENTITY_FILE_BYTES = 64 * 1024;
/** Small-state files (contacts, invitations, sync marks; shared/node/DurableJsonFile): contacts and invitations are kilobytes; anything bigger is not ours and is not read into memory. */
export const MAX_STATE_FILE_BYTES = 16 * 1024 * 1024;
/** kith.lock holds a pid and a start time (< 64 bytes); a bigger file is damaged and is not read whole. */
export const MAX_LOCK_FILE_BYTES = 256;
/** Rounds a lock acquisition retries while another process is in the middle of a stale-lock takeover (a few ms each). */
export const LOCK_TAKEOVER_ATTEMPTS = 50;
/** Pause between those rounds; 50 × 20 ms bounds the wait at about a second. */
export const LOCK_RETRY_MS = 20;
/** A lock file without a readable pid that is younger than this may still be being written (filesystems without hard links); older, it is stale. */
export const LOCK_SETTLE_MS = 2_000;

// ---- command line ---------------------------------------------------------------

/** Paths given on the command line (Linux PATH_MAX); longer ones are refused before touching the filesystem. */
export const MAX_CLI_PATH_LENGTH = 4096;
/** Tries at the interactive passphrase prompt when the confirmation does not match. */
export const PASSPHRASE_PROMPT_ATTEMPTS = 3;

// ---- secure channel -------------------------------------------------------------

/** One Noise message, the Noise spec's maximum (65535 bytes). Each WebSocket message carries exactly one. */
export const MAX_NOISE_MESSAGE = 65535;
/** ws `maxPayload`: a Noise message plus the 1-byte route tag and 32-byte pairing prefix of the first frame. ws's 100 MiB default would let a peer make us buffer 100 MiB. */
export const MAX_WS_PAYLOAD = MAX_NOISE_MESSAGE + 64;
/** A WebSocket close reason (RFC 6455 §5.5: a control frame carries ≤ 125 bytes, 2 of them the status code). Kith sends its error code there. */
export const MAX_CLOSE_REASON_BYTES = 123;
/** After sending a close frame, how long a transport waits for the peer's before destroying the socket. ws waits 30 s, which lets a peer that never answers hold the socket (and make us discard its garbage) that long; a live peer answers within one round trip. */
export const WS_CLOSE_GRACE_MS = 2_000;
/** A ws transport asks for a write-completion callback once per this many bytes sent (and on every send while someone waits in `drained()`). Each callback costs Node a closure and a nextTick per write — a third of the throughput for 100-byte server→client messages — so small messages share one; 64 KiB is also how late, at most, a waiter on a backed-up socket learns that the queue shrank. */
export const WS_SEND_CALLBACK_SPACING_BYTES = 64 * 1024;
/** Where no callback reports the send buffer shrinking (the browser WebSocket always; ws rarely), `drained()` polls `bufferedAmount`: first after 4 ms (one frame of a busy page), doubling up to 100 ms so a long wait costs ~10 wake-ups per second. */
export const DRAIN_POLL_MIN_MS = 4;
export const DRAIN_POLL_MAX_MS = 100;
/** Noise protocol names (spec rev. 34 §8: at most 255 bytes). Longer strings are refused before any parsing. */
export const MAX_NOISE_PROTOCOL_NAME = 255;
/** Prologues are short context strings (protocol ids, purposes, invite ids); bounded like a Noise message so no caller can make a handshake hash megabytes. */
export const MAX_NOISE_PROLOGUE = MAX_NOISE_MESSAGE;
/**
 * A CipherState refuses to encrypt or decrypt once its counter reaches this value, so `nonce` stays a safe
 * integer and can never wrap (the spec reserves 2^64 − 1; we stop far below it). At 10 million messages
 * per second this is 28 years of one session; a session that gets here must run a new handshake (rekey keeps n).
 */
export const MAX_NOISE_NONCE = Number.MAX_SAFE_INTEGER;
/** Test-vector files the noise-vectors tool reads whole: snow's and cacophony's full files are a few MiB; 64 MiB refuses a wrong path to a huge file. */
export const MAX_NOISE_VECTOR_FILE_BYTES = 64 * 1024 * 1024;
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
/** Parse bound of a stored invitation's failure count: it stops at INVITE_MAX_FAILED_ATTEMPTS, so anything far above means a damaged file. */
export const MAX_STORED_FAILED_ATTEMPTS = 1000;
/** Shortest invitation lifetime the app's renderer may ask its main for: under half a minute a code cannot be shown, scanned and confirmed. */
export const COMPANION_MIN_INVITE_TTL_SECONDS = 30;
/** Text of a pairing error sent to the other side (shown to a person there): a sentence, not a document. */
export const MAX_PAIR_ERROR_MESSAGE_LENGTH = 300;
/** Text of a companion error answered to the renderer (shown in its window). */
export const MAX_COMPANION_ERROR_MESSAGE_LENGTH = 500;
/** Why a contact was revoked, as the user typed it (kept with the contact record). */
export const MAX_REVOKE_REASON_LENGTH = 200;
/** Open invitations per instance; a registry that can only grow is a memory leak. */
export const MAX_OPEN_INVITES = 64;
/** An encoded invitation link; the payload must fit a QR code of version ≤ 10 at level M (213 bytes of byte-mode data). */
export const MAX_INVITE_LINK_LENGTH = 213;
/** Highest QR version an invitation may need (DESIGN §4): 57×57 modules still scan reliably from a laptop screen with a phone camera. */
export const MAX_INVITE_QR_VERSION = 10;
/** Pasted link text before surrounding whitespace is trimmed: room for blank lines and indentation around a 213-character link, bounded so a pasted novel is refused before any work. */
export const MAX_INVITE_LINK_INPUT_LENGTH = 1024;
/** Tolerance when the invitee compares an invitation's expiry with its own clock: ±300 s, the usual window for cross-device timestamps (notes: pairing-security §2.6). Advisory only: the inviter enforces expiry on its own clock. */
export const INVITE_CLOCK_SKEW_SECONDS = 300;
/** Side of an image handed to the QR decoder: 4096 px covers any camera frame or screenshot we scan (a 4K frame is 3840 wide); beyond that jsQR's time and the 64 MiB RGBA buffer grow with no benefit. */
export const MAX_QR_IMAGE_SIDE = 4096;
/** Pixels jsQR actually scans; larger images are box-downscaled first. jsQR's finder-pattern search is quadratic in candidates, so pixel noise costs ~2.4 s at 1 MP but ~500 s at 16 MP (measured); 1 MP still holds a 720p camera frame unscaled and gives a version-10 code ≥ 2 px per module in a HiDPI 4K screenshot. */
export const MAX_QR_DECODE_PIXELS = 1024 * 1024;
/** Characters handed to the QR encoder: the largest QR code (version 40, level L, numeric) holds 7,089; longer text cannot fit and is refused before qrcode segments it. */
export const MAX_QR_TEXT_LENGTH = 7089;
/** Time a pairing waits for the inviter's person to confirm ("Pair with NAME?"). */
export const PAIRING_CONFIRM_TIMEOUT_MS = 120_000;
/** One pairing protocol message carries one identity (~1 KB); 16 KiB is plenty and bounds parsing. */
export const MAX_PAIRING_MESSAGE_BYTES = 16 * 1024;
/** Contacts per instance: far above any address book, and it bounds the pairing state file. */
export const MAX_CONTACTS = 10_000;
/** Instances (devices) remembered per contact; past this the oldest is forgotten, so one contact cannot grow the state file without limit. */
export const MAX_INSTANCES_PER_CONTACT = 64;
/** Invitation records kept, open and closed: closed ones only serve precise errors ("used" rather than "unknown"), so four per open slot is enough. */
export const MAX_INVITE_RECORDS = MAX_OPEN_INVITES * 4;
/** Closed invitations older than this are pruned: they only serve precise error messages, and a week covers a link someone finds late in a chat. */
export const INVITE_CLOSED_RETENTION_SECONDS = 7 * 24 * 60 * 60;

// ---- CHUM -----------------------------------------------------------------------

/** Objects per sync batch: ~100 small objects (~25 KB) per frame measured best (notes: sync-and-ceilings). */
export const SYNC_BATCH_OBJECTS = 100;
/** Bytes per sync batch, so a batch of large objects is still one bounded message. */
export const SYNC_BATCH_BYTES = 256 * 1024;
/** Unacknowledged batches in flight per peer (flow-control window). */
export const SYNC_WINDOW_BATCHES = 8;
/**
 * A batch that only moves the peer's mark (everything scanned was its own or hidden from it)
 * waits this long for objects to ride with: sent at once, each batch the peer streams to us
 * would come back as an empty batch and a durable mark write on its side (measured: 102 of
 * them during a 10k-object first sync).
 */
export const MARK_ONLY_BATCH_DELAY_MS = 250;
/** Blob chunk size (DESIGN §3: at most 1 MiB). */
export const BLOB_CHUNK_BYTES = 1024 * 1024;
/** Blob chunk requests in flight per peer (pipelined window). */
export const BLOB_WINDOW_CHUNKS = 4;
/**
 * Blob chunks arrived but not yet durable per peer: the next request goes out when a chunk
 * arrives, not when its write ends, so the disk's group commits overlap the transfer. With
 * the window this bounds a transfer's chunk memory to (4 + 8) × 1 MiB per peer.
 */
export const BLOB_STORE_QUEUE_CHUNKS = 8;
/** Hashes in one OFFER/WANT/CHUNK_REQ/MISSING message: 8k × 32 B = 256 KiB, the size of a sync batch. */
export const MAX_HASHES_PER_MESSAGE = 8192;
/** A JSON sync control message is tiny; 4 KiB bounds its parsing. */
export const MAX_SYNC_CONTROL_BYTES = 4096;
/** Tasks a peer can have queued per direction in one sync session before it is considered abusive. */
export const MAX_SYNC_PENDING_TASKS = 64;
/** WANT answers an importer receives at once; more means the exporter is not following the protocol. */
export const MAX_PENDING_WANTED_BATCHES = 16;
/** Offers an importer queues behind its current work; more means the exporter does not wait for answers. */
export const MAX_QUEUED_OFFERS = 16;
/** Peers we keep sync marks for; beyond this the oldest are forgotten (they then reconcile), so the marks file stays bounded. */
export const MAX_MARKS = 10_000;
/** Store entries read per step when the importer lists what it holds and when the access index scans the store: bounded memory whatever the store's size. */
export const IMPORT_SCAN_PAGE_ENTRIES = 10_000;
export const ACCESS_SCAN_PAGE_ENTRIES = 10_000;
/** Metadata entries the exporter examines per store page while filling a batch: a batch fills after ~100 objects, so a smaller page reads less that is not sent. */
export const EXPORT_SCAN_PAGE_ENTRIES = 1000;
/** Parsed records an ObjectVerifier keeps for verification (instances, certificates, ids, grants): bounded memory against a peer that sends many. */
export const RECORD_CACHE_ENTRIES = 20_000;

/** Limits of CHUM's built-in object types (chum/model/types.ts), each with its reason. */
export const TYPE_LIMITS = {
  /** Parents of one version: merges of more than 16 heads at once do not happen in practice. */
  maxPrev: 16,
  /** Targets of one Access grant; a bigger share is several grants (keeps grants well under 1 MiB). */
  maxGrantTargets: 1000,
  maxGrantIds: 100,
  maxGrantPersons: 1000,
  maxGrantGroups: 100,
  /** Members of one group. */
  maxGroupMembers: 10_000,
  /** Chunks of one blob manifest: 15k × 1 MiB ≈ 15 GiB per blob, while the manifest (67 bytes per chunk hash) stays under MAX_OBJECT_BYTES. */
  maxChunks: 15_000,
  /** Text of one channel message. */
  maxText: 16 * 1024,
  /** Explicit references of an application object. */
  maxRefs: 1000,
  /** A file name in a channel. */
  maxFileName: 255,
  /** A file's MIME type: common registered types are well under 100 characters (RFC 6838 allows 127 per part); a longer one is refused by the schema and left out by the renderer. */
  maxMime: 100,
} as const;

// ---- CHUM set reconciliation (chum/reconcile) -------------------------------------

/**
 * Default largest reconciliation message (NIP-77's frame-size idea): 1 MiB, ~32k listed ids, the size of a blob
 * chunk. Work that does not fit is deferred to later rounds rather than sent as one oversized message. Measured
 * (100k ids in common, default options): at 256 KiB, 10k differences needed 5–9 round trips, deferred for
 * room; at 1 MiB 1 to 3k differences per side take 3 and 10k take 3–4.
 */
export const RECONCILE_MAX_MESSAGE_BYTES = 1024 * 1024;
/** Smallest `maxMessageBytes` a Reconciler accepts: room for the largest single answer (an IdList of 15 ids, ~0.5 KiB, at the default threshold; 31 ids at threshold 32) several times over, so every round makes progress. */
export const RECONCILE_MIN_MESSAGE_BYTES = 4 * 1024;
/**
 * Default ranges a mismatching range is split into. Measured (bench/reconcile.bench.ts, 100k ids in common,
 * threshold 16): branching 8 finds one difference in 0.98 KB and 3 round trips where 16 (with threshold 32)
 * took 1.8 KB and 2; at 1k / 3k / 10k differences per side it costs 0.18× / 0.37× / 0.72× of the plain id
 * list in 4 / 5 / 9 round trips, against 0.41× / 0.80× / 1.03× in 6 / 11 / 16 for branching 16.
 */
export const RECONCILE_BRANCHING = 8;
/** Largest branching accepted: one answer is up to branching × 50 bytes, and wider splits only cost bytes. */
export const RECONCILE_MAX_BRANCHING = 256;
/** Default: a side holding fewer ids than this in a mismatching range lists them instead of splitting (16: the final list of a small difference holds ~2 ids at branching 8; 8 measured the same). */
export const RECONCILE_ID_LIST_THRESHOLD = 16;
/** Largest IdList threshold accepted: one answer lists up to threshold − 1 ids (32 KiB at 1024), and must fit a message. */
export const RECONCILE_MAX_ID_LIST_THRESHOLD = 1024;
/**
 * Messages one Reconciler processes before it gives up (SYNC_PROTOCOL_ERROR). An honest session needs about
 * log16(n) + 2 round trips for small differences plus one message per ~256 KiB of listed ids, so 1024 covers
 * ~8M ids of one-sided difference; past that shouldSendIdList says to stream ids instead. It is also the most
 * rounds a hostile peer can force: each costs at most one message's parsing (≤ maxMessageBytes).
 */
export const RECONCILE_MAX_ROUNDS = 1024;
/**
 * Ranges a Reconciler may hold deferred (answers that did not fit the message budget). Each deferred range holds
 * at least one difference, so honest sessions reach this only when the sets differ by well over 100k ids, where
 * streaming the id list is cheaper anyway; it bounds memory (~150 B per range, ~20 MiB) against a hostile peer.
 */
export const RECONCILE_MAX_DEFERRED_RANGES = 131_072;
/**
 * Above this fraction of differing ids, stream the id list instead of reconciling (shouldSendIdList). Measured
 * (bench/reconcile.bench.ts, 100k in common, default options): 1k differences per side cost 0.18× the id list's
 * bytes in 3 round trips, 3k 0.37× in 3, 10k on one side 0.46× in 3, 10k per side 0.71× in 4: past ~10% the
 * savings shrink while the round trips grow.
 */
export const RECONCILE_ID_LIST_DIFF_FRACTION = 0.1;

// ---- object stores (chum/stores) --------------------------------------------------

/** Entries in one `ObjectStore.put` batch. A batch is one index record (file store) or one transaction (IndexedDB) whose metadata is planned in memory; sync puts 100 per batch, blob imports put their chunks in batches, so 10k is far above any honest caller and bounds a hostile one. */
export const MAX_PUT_BATCH_ENTRIES = 10_000;
/** Random bytes in a store epoch: 128 bits, so two resets never reuse an epoch and a peer's marks can never be confused. */
export const STORE_EPOCH_BYTES = 16;
/** Longest group-commit window a file store accepts (`fsyncBatchMs`). Waiting longer only adds latency; concurrent puts already share one fsync pair while the previous pair runs. */
export const MAX_STORE_COMMIT_WINDOW_MS = 1_000;
/**
 * One positioned read of the data log serves at most this many back-to-back entries and bytes
 * (a sync batch is ≤ SYNC_BATCH_OBJECTS and ≤ SYNC_BATCH_BYTES plus one object): one read per
 * batch instead of one per object, without a caller's list turning into one huge buffer.
 */
export const MAX_READ_RUN_ENTRIES = 256;
export const MAX_READ_RUN_BYTES = 4 * 1024 * 1024;

// ---- sessions (added with the secure channel) -----------------------------------

/** Received application bytes queued for a slow consumer before the transport is paused (TCP then pushes back on the sender). */
export const RECEIVE_QUEUE_HIGH_WATER_BYTES = 4 * 1024 * 1024;
/** Exact replays of a handshake's first message are refused while their ephemeral key is remembered; 16k keys ≈ 1 MiB. */
export const REPLAY_CACHE_ENTRIES = 16_384;
/**
 * Memory one idle secure connection may hold at one end: its socket and ws state, the two Noise CipherStates, the
 * session's timer and empty queues. Measured 10–13 KiB per end on Node 20 (test/connections/SecureSession.test.ts,
 * 50 loopback connections); 32 KiB leaves room for other runtimes and still keeps 1,000 quiet peers under 32 MiB.
 * A busy connection adds at most its buffers: SEND_HIGH_WATER_BYTES out, RECEIVE_QUEUE_HIGH_WATER_BYTES and one
 * MAX_APP_MESSAGE being reassembled in.
 */
export const MAX_IDLE_CONNECTION_BYTES = 32 * 1024;

// ---- crypto providers (shared/crypto) ----------------------------------------------

/** Bytes per `randomBytes` call: WebCrypto's `getRandomValues` refuses more than 65,536 at once, and every provider keeps the same contract. Keys and nonces need ≤ 32. */
export const MAX_RANDOM_BYTES = 65_536;
/** Imported public keys cached per provider (Ed25519 verify, X25519 peers). An import costs 6–20 µs native, ~50 µs decoded in noble; 4096 authors cover any realistic working set at < 2 MiB. */
export const PUBLIC_KEY_CACHE_ENTRIES = 4096;
/** The native provider draws small random values (keys, ids) from a pool of this size, refilled in one call; larger requests go straight to the system. */
export const RANDOM_POOL_BYTES = 4096;
/** Static-static Noise DH results remembered per local static key (one per peer that handshakes with it; 4096 × ~100 B). */
export const STATIC_DH_CACHE_ENTRIES = 4096;
/**
 * Ed25519 verifications run in worker threads, in batches (shared/crypto/verifyPool.ts): at most this many workers
 * (and no more than the machine's cores). Measured here: 1 worker 13.5k verifications/s, 2 workers 17k/s, with
 * 0.5–1 µs of the caller's thread per verification instead of the 13–18 µs that a threadpool call costs it.
 */
export const VERIFY_POOL_MAX_WORKERS = 2;
/** Verifications per batch sent to a worker (a sync batch holds up to 100 objects); a smaller remainder leaves on the next check phase (setImmediate). */
export const VERIFY_POOL_BATCH = 128;
/** No worker is started for fewer queued verifications than this (a worker takes ~30 ms to start); they take the threadpool. */
export const VERIFY_POOL_START_BATCH = 16;
/** A batch leaves once it holds this many bytes of messages, whatever its count. */
export const VERIFY_POOL_MAX_BATCH_BYTES = 1024 * 1024;
/** Messages longer than this are verified on the threadpool without a copy to a worker (object signatures cover a 32-byte hash). */
export const VERIFY_POOL_MAX_MESSAGE_BYTES = 64 * 1024;
/** Workers that may fail (error or exit) before the pool stops starting new ones and every verification takes the threadpool. */
export const VERIFY_POOL_MAX_FAILURES = 3;
/** scrypt's p multiplies its time linearly; key files use p = 1 and RFC 7914's largest test vector p = 16. A tampered key file could otherwise name p = 2^30. */
export const SCRYPT_MAX_P = 16;
/** scrypt output: key files take 64 bytes (two 32-byte keys). 1 KiB is far above any use and bounds the allocation a hostile parameter set can ask for. */
export const SCRYPT_MAX_DKLEN = 1024;
/** Fields in any one object of a wire schema. Our records have < 20; class-validator costs ~30 µs per unknown key, so wide objects are refused before it runs. */
export const MAX_SCHEMA_OBJECT_KEYS = 64;
/** Elements of one array the schema gate's wide-object pre-pass looks into; the JSON gate still walks them all, this only bounds the pre-pass's own work. */
export const SCHEMA_SCAN_ARRAY_ELEMENTS = 100_000;

// ---- the kith command's control socket and serve (cli/control, cli/commands) -------

/** Longest control socket path: a Unix socket address holds 108 bytes on Linux and 104 on macOS, the NUL included; longer paths are refused with a clear message instead of failing in bind(). */
export const MAX_CONTROL_SOCKET_PATH_BYTES = 103;
/** Blob bytes per control-socket data frame: 64 KiB (≈ 87 KiB of base64url) keeps every line small, and a 1 GiB stream is still only 16k frames. */
export const CONTROL_STREAM_CHUNK_BYTES = 64 * 1024;
/** Longest line the control server reads: one data frame and its envelope. Every other request is under 2 KiB. */
export const MAX_CONTROL_REQUEST_LINE_BYTES = 128 * 1024;
/** Longest line a client reads from the owner: a data frame, or one listed contact (64 instances with 3 endpoints each is ~40 KiB), with room. */
export const MAX_CONTROL_RESPONSE_LINE_BYTES = 1024 * 1024;
/** A control connection that sends no complete line for this long while the server waits for one is closed: scripts send a request at once, and a slow `kith put -` producer still writes more often than this. */
export const CONTROL_IDLE_TIMEOUT_MS = 60_000;
/** How long a client waits for the next frame from the owner. Pairing can wait for the inviter's person (PAIRING_CONFIRM_TIMEOUT_MS) plus two handshakes; nothing else is as slow. */
export const CONTROL_RESPONSE_TIMEOUT_MS = PAIRING_CONFIRM_TIMEOUT_MS + 2 * HANDSHAKE_DEADLINE_MS;
/** Control connections served at once. Each holds a socket and at most one command; a runaway script cannot pile up more. */
export const MAX_CONTROL_CONNECTIONS = 64;
/** Error messages in control frames are one short sentence; longer ones are cut, never trusted to be small. */
export const MAX_CONTROL_ERROR_MESSAGE_LENGTH = 1000;
/** When the home is locked but its control socket does not answer yet (the owner is still unlocking keys or opening the store), commands retry this long before giving up with HOME_LOCKED. */
export const CONTROL_OWNER_WAIT_MS = 10_000;
/** Pause between those retries: a socket appears within one or two of them once the owner is up. */
export const CONTROL_OWNER_RETRY_MS = 100;
/** `kith put --json-object` input: the canonical object is at most MAX_OBJECT_BYTES; a pretty-printed file of it may be a few times larger. */
export const MAX_JSON_OBJECT_FILE_BYTES = 4 * MAX_OBJECT_BYTES;
/** state/serve.json holds one URL, a pid and a time (< 300 bytes); a bigger file is not ours and is not read whole. */
export const MAX_SERVE_RECORD_BYTES = 4096;
/** `kith serve` prints sync progress for one peer and direction at most this often, so a peer costs at most 2 lines per second. */
export const SERVE_PROGRESS_INTERVAL_MS = 1_000;
/** `kith put` and `kith get` show progress on stderr for transfers larger than this; smaller ones finish before anyone would look. */
export const CLI_PROGRESS_MIN_BYTES = 8 * 1024 * 1024;
/** …and at most this often. */
export const CLI_PROGRESS_INTERVAL_MS = 1_000;
/** Store entries read per step while `kith ls` walks the store: bounded memory whatever the store's size. */
export const STORE_LIST_PAGE_ENTRIES = 1_000;
/** How long an importer waits for the answer to a WANT (a few round trips plus a large closure); a silent peer then loses its session. */
export const SYNC_WANT_TIMEOUT_MS = 60_000;
/** Messages queued for a protocol that has not attached to a session yet (the first exchange of a protocol is a handful of messages). */
export const MUX_QUEUE_MESSAGES = 256;

// ---- desktop app host (main/) -------------------------------------------------------

/** Lifetime of the `renderer` invitation each app start creates: `npm start` prints a URL that a person may open minutes later (after reading the terminal, finding the browser); an hour covers that, and the link only pairs a renderer with this one main, once. Electron hands it over at once and could do with less, but one value keeps the behaviour the same everywhere. */
export const RENDERER_INVITE_TTL_SECONDS = 60 * 60;
/** Total bytes of the built renderer the host keeps in memory to serve (index.html, app.js, app.css, assets): the bundle is a few hundred KiB; a build ten times that is a mistake, not something to serve. */
export const MAX_RENDERER_BUNDLE_BYTES = 32 * 1024 * 1024;
/** Files in the built renderer the host serves: esbuild writes three plus a few assets. */
export const MAX_RENDERER_FILES = 256;
/** How long a clean shutdown (control socket, sessions, store, lock) may take before the process exits anyway: closing waits on sockets, and a peer must not keep the app alive. */
export const APP_SHUTDOWN_TIMEOUT_MS = 10_000;
/** `kith://` links the OS opened before the renderer listened (Electron): a person clicks a few; a flood from a misbehaving launcher is cut off. */
export const MAX_PENDING_OPENED_LINKS = 8;
/** keys.safe: a sealed 43-character key is under 200 bytes on every platform; anything bigger is not ours and is not read. */
export const MAX_SEALED_KEY_BYTES = 4096;

// ---- companion protocol, renderer ↔ main (instance/companion) ------------------------

/** One companion message carries lists of contacts and invitations: 256 KiB bounds parsing. */
export const MAX_COMPANION_MESSAGE = 256 * 1024;
/** A companion request main has not answered in this long fails (accepting an invitation includes a handshake and the other side's confirmation). */
export const COMPANION_CALL_TIMEOUT_MS = 150_000;
/** Companion requests in flight at once; a runaway page cannot pile up more. */
export const MAX_COMPANION_PENDING_CALLS = 64;
/** Sync progress events to a renderer, at most this often per peer and direction: each one re-renders the window. */
export const COMPANION_PROGRESS_INTERVAL_MS = 250;

// ---- desktop app renderer (renderer/) ----------------------------------------------

/** A small-state document (contacts, invitations, sync marks) read back from the renderer's IndexedDB: kilobytes in practice; the same bound as the Node host's state files, so a damaged record is refused before it is parsed. */
export const MAX_RENDERER_STATE_BYTES = MAX_STATE_FILE_BYTES;
/** An image file opened to read a QR code from: photos and screenshots are a few MiB; the decoder works on at most MAX_QR_IMAGE_SIDE² pixels anyway, so a bigger file only costs memory. */
export const MAX_QR_IMAGE_FILE_BYTES = 32 * 1024 * 1024;
/** Camera frames handed to the QR decoder at most this often: a scan needs a few frames, and decoding a 720p frame costs ~10–50 ms, so 5 per second keeps the page responsive. */
export const QR_SCAN_INTERVAL_MS = 200;
/** The renderer refreshes clocks it shows (invitation countdown, dial retries) once a second. */
export const RENDERER_TICK_MS = 1_000;
/** Messages of one channel rendered at once (the newest); the rest stay in the store. Keeps a long channel's screen fast. */
export const MAX_CHANNEL_MESSAGES_SHOWN = 500;
/** An object URL made for a file download is released after this long: the browser's download holds its own reference once started. */
export const DOWNLOAD_URL_LIFETIME_MS = 60_000;
/** The window redials its main (same computer, loopback) from 0.5 s up to 5 s apart, not the 60 s meant for remote peers: when Kith restarts, the window is back within seconds, and a loopback attempt costs nothing. */
export const RENDERER_DIAL_BACKOFF_MIN_MS = 500;
export const RENDERER_DIAL_BACKOFF_MAX_MS = 5_000;
/** A file being sent reports its progress to the screen at most this often: each report re-renders the window, and a large file is read in thousands of pieces. */
export const UPLOAD_PROGRESS_INTERVAL_MS = 100;
/** Entries of a list main sends (contacts, invitations, instances) the window reads; more are cut. Main bounds contacts at MAX_CONTACTS and the screen shows far fewer. */
export const MAX_MAIN_STATE_LIST_ENTRIES = 10_000;
/** Short texts main sends (names, states): names are ≤ MAX_NAME_LENGTH; a longer value is not shown. */
export const MAX_MAIN_STATE_TEXT_LENGTH = 200;
/** Rows the sync activity view keeps (one per peer and direction); main has few peers online at once. */
export const MAX_SYNC_ACTIVITY_ROWS = 256;

// ---- responsiveness under load (test/reliability) -----------------------------------

/**
 * Signature checks one ObjectVerifier keeps in flight at once (all sync sessions of an instance share it). Node verifies on
 * libuv's threadpool, which also runs every file operation: 50 peers syncing at once queued thousands of checks there, so a
 * pairing's fsync or an invitation's write waited seconds behind them (measured, test/reliability/manyPeers). 32 keeps the
 * 4 threads busy (throughput within noise of unbounded) while other work waits behind at most ~32 × 0.1 ms.
 */
export const VERIFY_CONCURRENCY = 32;
/**
 * Objects an importer describes (parse, canonical check, schema: ~20 µs each) before it lets the
 * event loop serve others: with 50 peers syncing, a pairing step waits behind one slice per
 * session (~25 ms in all) instead of one batch per session (~100–150 ms).
 */
export const DESCRIBE_SLICE_OBJECTS = 25;
