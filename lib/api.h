/*
 * api.h - the shared library of the api case-record toolkit.
 *
 * Conventions (see also README and man/api.7):
 *  - Functions return 0 (API_OK) or a negative API_E* code and leave a
 *    one-line message for api_error_last().  The library never prints
 *    and never exits.
 *  - api_T_free(NULL) is a no-op.  Whoever receives a pointer from an
 *    api_T_new()/api_T_load() function owns it and frees it with
 *    api_T_free().
 *  - Secrets live in sodium_malloc() memory and are wiped on free.
 *  - Call api_init() once before anything else.
 */
#ifndef API_H
#define API_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define API_VERSION "0.1.0"

/* Error codes.  Negative, so that "if (rc < 0)" catches every one. */
enum {
	API_OK = 0,
	API_ERROR = -1,          /* anything not listed below */
	API_ENOMEM = -2,
	API_EIO = -3,            /* read or write failed */
	API_EINVAL = -4,         /* malformed input or argument */
	API_ENOTFOUND = -5,
	API_EEXIST = -6,
	API_EPERM = -7,          /* permissions: e.g. identity readable by others */
	API_EPASS = -8,          /* wrong passphrase */
	API_ECANCEL = -9,        /* the user said no, or nothing to do */
	API_EAGAIN = -10,        /* someone else changed it first: try again */
	API_ECONFLICT = -11,     /* one path, two contents (sync) */
	API_EVERIFY = -12,       /* a history that fails the api-verify rules */
	/* age, in the order the CCTV vectors name them */
	API_EAGE_HEADER = -20,   /* not an age file, or a malformed header */
	API_EAGE_NOMATCH = -21,  /* no identity matched any recipient stanza */
	API_EAGE_HMAC = -22,     /* header MAC does not verify */
	API_EAGE_PAYLOAD = -23,  /* payload truncated, corrupt or trailing data */
	API_EAGE_ARMOR = -24,    /* ASCII armor malformed */
	/* signatures */
	API_ESIG = -30,          /* signature does not verify */
	API_ESIG_FORMAT = -31,   /* signature malformed */
};

/* --- error.c ---------------------------------------------------------- */

/* The message of the last error in this thread; never NULL. */
const char *api_error_last(void);
/* Sets the message (printf-style) and returns code, for "return api_error_set(...)". */
int api_error_set(int code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Clears the last error. */
void api_error_clear(void);

/* --- util.c ----------------------------------------------------------- */

/* Initialises libsodium and, in programs, disables core dumps.
 * Returns 0, or API_ERROR if the crypto library cannot start. */
int api_init(void);
/* Disables core dumps of this process (RLIMIT_CORE 0, not dumpable). */
int api_no_core_dumps(void);
/* Secret memory (locked) from the pool api_buf uses: no system call for
 * most.  NULL when there is none.  api_secret_free wipes the n bytes
 * asked for (of a block from api_secret_alloc(n)) and takes NULL. */
void *api_secret_alloc(size_t n);
void api_secret_free(void *p, size_t n);
/* For a program that walks a whole history (api-verify, api-clone,
 * api-sync): turns off libgit2's cache of trees and commits. */
void api_cache_walks(void);

/* --- tls.c ------------------------------------------------------------ */

/* Loads the system's CA certificates into libgit2, which api_init leaves
 * unloaded (they cost every program 6 ms); call before opening a remote
 * that may be https://.  Returns 0 or API_EIO. */
int api_tls_load(void);

/*
 * Streams.  A reader fills up to len bytes and stores the count in *got;
 * *got == 0 means end of input.  A writer consumes all len bytes.  Both
 * return 0 or a negative API_E* code (with the message set).
 */
typedef int (*api_read_fn)(void *ctx, unsigned char *buf, size_t len, size_t *got);
typedef int (*api_write_fn)(void *ctx, const unsigned char *buf, size_t len);

/* A file descriptor as a stream: ctx points at an api_fd. */
typedef struct api_fd {
	int fd;
	const char *name;        /* for messages, e.g. "stdin" or a path */
} api_fd;
int api_fd_read(void *ctx, unsigned char *buf, size_t len, size_t *got);
int api_fd_write(void *ctx, const unsigned char *buf, size_t len);

/*
 * A growable byte buffer.  With secret set, memory comes from
 * sodium_malloc and is wiped when it grows or is freed.
 */
typedef struct api_buf {
	unsigned char *ptr;
	size_t len, cap;
	int secret;
	size_t max;              /* 0: no limit; else appends past it fail */
} api_buf;
int api_buf_append(api_buf *b, const void *data, size_t len);
/* api_write_fn over an api_buf */
int api_buf_write(void *ctx, const unsigned char *buf, size_t len);
/* api_read_fn over memory: ctx points at an api_mem */
typedef struct api_mem {
	const unsigned char *ptr;
	size_t len, pos;
} api_mem;
int api_mem_read(void *ctx, unsigned char *buf, size_t len, size_t *got);
void api_buf_free(api_buf *b);    /* frees the memory, keeps the struct */

/* Reads a whole file (at most max bytes, else API_EINVAL) into b. */
int api_file_read(const char *path, api_buf *b, size_t max);
/*
 * Writes data to path atomically: a temporary file beside it (mode),
 * fsync, then link into place.  With excl, an existing path is
 * API_EEXIST and left alone.  On failure nothing is left behind.
 */
int api_file_write(const char *path, const void *data, size_t len,
	mode_t mode, int excl);

/* --- bech32.c --------------------------------------------------------- */

/* Encodes data under hrp (lower case) into out (outlen bytes, NUL
 * included); upper selects the upper-case form.  No length limit. */
int api_bech32_encode(char *out, size_t outlen, const char *hrp,
	const unsigned char *data, size_t len, int upper);
/* Decodes s: writes the hrp (lower case) and data.  Mixed case is
 * refused; *len is in: capacity, out: length. */
int api_bech32_decode(const char *s, char *hrp, size_t hrplen,
	unsigned char *data, size_t *len);

/* --- hkdf.c ----------------------------------------------------------- */

/* HKDF-SHA-256 (RFC 5869) on crypto_auth_hmacsha256. */
int api_hkdf_sha256(unsigned char *out, size_t outlen,
	const unsigned char *salt, size_t saltlen,
	const unsigned char *ikm, size_t ikmlen,
	const unsigned char *info, size_t infolen);

/* --- age.c: age v1 (C2SP age.md) --------------------------------------- */

#define API_AGE_CHUNK 65536
#define API_AGE_MAX_HEADER (1024 * 1024) /* a longer header is refused */
#define API_AGE_DEFAULT_WORK_FACTOR 18
#define API_AGE_MAX_WORK_FACTOR 22       /* as stock age: 4 GiB of scrypt */
#define API_AGE_RECIPIENT_LEN 62         /* "age1" + 58, without NUL */
#define API_AGE_IDENTITY_LEN 74          /* "AGE-SECRET-KEY-1" + 58 */

/* Flags for encryption and decryption. */
enum {
	API_AGE_ARMOR = 1,       /* encrypt: armored output; decrypt: input must be armored */
	API_AGE_BINARY = 2,      /* decrypt: input must not be armored */
	/* default for decrypt: armor detected by a leading "-----" after whitespace */
};

/* X25519 key pair: pk public, sk secret (32 bytes each). */
int api_age_keypair(unsigned char pk[32], unsigned char sk[32]);
/* Public key of a secret key. */
int api_age_public(unsigned char pk[32], const unsigned char sk[32]);
/* "age1..." <-> 32 bytes; out has API_AGE_RECIPIENT_LEN + 1 bytes. */
int api_age_recipient_encode(char *out, const unsigned char pk[32]);
int api_age_recipient_parse(unsigned char pk[32], const char *s);
/* "AGE-SECRET-KEY-1..." <-> 32 bytes; out has API_AGE_IDENTITY_LEN + 1
 * bytes and should itself be secret memory. */
int api_age_identity_encode(char *out, const unsigned char sk[32]);
int api_age_identity_parse(unsigned char sk[32], const char *s);

/*
 * The keys a decryption may use: X25519 identities and passphrases.
 * It also owns the scratch memory of a decryption (chunk buffers), so
 * that opening many small files allocates nothing; one api_age_keys is
 * therefore used by one thread at a time.
 */
typedef struct api_age_keys api_age_keys;
int api_age_keys_new(api_age_keys **out);
int api_age_keys_add_x25519(api_age_keys *k, const unsigned char sk[32]);
/*
 * The same with its public key, which age mixes into the wrap key.  With
 * API_AGE_PK_KNOWN pk is sk's (an identity's, worked out when loaded);
 * with API_AGE_PK_HINT it is only likely to be (a case's recipient file)
 * and is worked out from sk when a stanza fails to open with it.  Either
 * spares an X25519 base-point multiplication, as dear as an unwrap; a
 * key added without one has it worked out at its first use.
 */
enum { API_AGE_PK_KNOWN = 1, API_AGE_PK_HINT = 2 };
int api_age_keys_add_x25519_pk(api_age_keys *k, const unsigned char sk[32],
	const unsigned char pk[32], int how);
/* Every AGE-SECRET-KEY-1 line of text (others: '#' comments, blank) */
int api_age_keys_add_identities(api_age_keys *k, const char *text, size_t len);
/* The passphrase is copied into secret memory.  max_work_factor 0 means
 * API_AGE_MAX_WORK_FACTOR. */
int api_age_keys_add_passphrase(api_age_keys *k, const char *pass, size_t len,
	int max_work_factor);
size_t api_age_keys_count(const api_age_keys *k);
void api_age_keys_free(api_age_keys *k);

/*
 * Decrypts an age file read from r into w, releasing plaintext chunk by
 * chunk (64 KiB): on API_EAGE_PAYLOAD the chunks before the bad one have
 * already been written.  Memory stays bounded by the header cap and two
 * chunks, whatever the file size.
 */
int api_age_decrypt(api_age_keys *k, api_read_fn r, void *rctx,
	api_write_fn w, void *wctx, int flags);
/*
 * The syntax of a binary age file's header, without decrypting: it
 * parses as api_age_decrypt would parse it, names at least one
 * recipient, and a nonce and one sealed chunk follow.  0, or
 * API_EAGE_HEADER with the message set.
 */
int api_age_header_check(const void *data, size_t len);
/* Convenience: in-memory ciphertext into a secret buffer (max 0: no cap);
 * plain must be empty or already secret. */
int api_age_decrypt_mem(api_age_keys *k, const void *ct, size_t ctlen,
	api_buf *plain, size_t max, int flags);

/* Streaming encryption. */
typedef struct api_age_enc api_age_enc;
/* To n X25519 recipients (n >= 1). */
int api_age_enc_new(api_age_enc **out, const unsigned char (*pks)[32], size_t n,
	api_write_fn w, void *wctx, int flags);
/* With a passphrase (scrypt, 2^work_factor; 0 means the default 18). */
int api_age_enc_new_passphrase(api_age_enc **out, const char *pass, size_t len,
	int work_factor, api_write_fn w, void *wctx, int flags);
int api_age_enc_write(api_age_enc *e, const void *data, size_t len);
/* Writes the last chunk (and the armor footer). */
int api_age_enc_close(api_age_enc *e);
void api_age_enc_free(api_age_enc *e);
/* Convenience: memory to an appended buffer. */
int api_age_encrypt_mem(const unsigned char (*pks)[32], size_t n,
	const void *plain, size_t len, api_buf *out, int flags);

/* --- sshsig.c: SSH signatures (openssh PROTOCOL.sshsig), Ed25519 ------- */

#define API_ED25519_PK 32
#define API_ED25519_SK 64        /* libsodium form: seed || pk */

/* "ssh-ed25519 AAAA..." (no comment) <-> 32 bytes.  out needs 81 bytes. */
#define API_SSH_PUBKEY_LEN 80
int api_ssh_pubkey_encode(char *out, const unsigned char pk[32]);
/* Accepts "ssh-ed25519 BASE64 [comment]". */
int api_ssh_pubkey_parse(unsigned char pk[32], const char *s);

/*
 * Signs msg for namespace ns with sha512, the SSHSIG way, and appends the
 * armored signature ("-----BEGIN SSH SIGNATURE-----", base64 at 70
 * columns, "-----END SSH SIGNATURE-----", each line ending in "\n") to out.
 */
int api_sshsig_sign(api_buf *out, const unsigned char sk[64],
	const char *ns, const void *msg, size_t len);
/*
 * Verifies an armored signature over msg for namespace ns.  Returns 0 and
 * the signer's public key in pk (if not NULL), API_ESIG when it does not
 * verify (tampered data, wrong namespace), API_ESIG_FORMAT when the
 * signature is malformed.  It does not decide whether the key is trusted.
 */
int api_sshsig_verify(unsigned char pk[32], const char *armored, size_t alen,
	const char *ns, const void *msg, size_t len);

/* --- identity.c: staff identities -------------------------------------- */

#define API_HANDLE_MAX 32

/*
 * A staff identity: handle, X25519 age key pair, Ed25519 signing key.
 * Secret parts live in secret memory.
 */
typedef struct api_identity {
	char handle[API_HANDLE_MAX + 1];
	unsigned char age_pk[32];
	unsigned char *age_sk;   /* 32 bytes, secret memory */
	unsigned char sign_pk[32];
	unsigned char *sign_sk;  /* 64 bytes, secret memory */
	char created[32];        /* ISO 8601 UTC */
} api_identity;

/* A public identity, as printed by api-keygen -y. */
typedef struct api_pubid {
	char handle[API_HANDLE_MAX + 1];
	unsigned char age_pk[32];
	unsigned char sign_pk[32];
} api_pubid;

/* Handles: 1-32 of [a-z0-9._-], starting with a letter or digit. */
int api_handle_valid(const char *h);

int api_identity_generate(api_identity **out, const char *handle);
void api_identity_free(api_identity *id);
/* A new key list holding the identity's age key, with its public key as
 * loaded (no base-point multiplication); *out is NULL on failure. */
int api_identity_keys(const api_identity *me, api_age_keys **out);

/*
 * Where an identity is: the explicit path, else $API_IDENTITY, else
 * $XDG_CONFIG_HOME/api/identity, else $HOME/.config/api/identity.
 * Returns a malloc'd string or NULL with the error set.
 */
char *api_identity_path(const char *explicit_path);

/*
 * Passphrase callback: fills pass (secret memory of cap bytes) with a
 * NUL-terminated passphrase; confirm asks twice (new passphrases).
 */
typedef int (*api_pass_fn)(void *ctx, const char *prompt, char *pass,
	size_t cap, int confirm);

/*
 * Writes id to path with mode 0600, refusing an existing file.  With a
 * passphrase callback the file is an armored age scrypt file (so stock
 * age can open it), else plain text.  The directory is created 0700.
 */
int api_identity_save(const api_identity *id, const char *path,
	api_pass_fn pass, void *pctx, int work_factor);
/*
 * Loads an identity, refusing a file that group or others can read
 * (API_EPERM) and asking pass for the passphrase of a protected one.
 */
int api_identity_load(api_identity **out, const char *path,
	api_pass_fn pass, void *pctx);
/* The text of an unprotected identity file (as api_identity_load reads
 * it once decrypted); name is used in messages. */
int api_identity_parse(api_identity **out, const char *text, size_t len,
	const char *name);

/* "handle age1... ssh-ed25519 AAAA..." into out (size >= 256). */
int api_pubid_format(char *out, size_t outlen, const api_pubid *p);
int api_pubid_parse(api_pubid *p, const char *line);
void api_identity_pubid(api_pubid *p, const api_identity *id);

/* --- pass.c: passphrases from the terminal or a file descriptor ------- */

/* The state behind api_pass_read: fd < 0 means the terminal. */
typedef struct api_pass_src {
	int fd;
} api_pass_src;
/* An api_pass_fn: reads from /dev/tty with echo off, or from fd (one
 * line; confirm then reads a second line only on the terminal). */
int api_pass_read(void *ctx, const char *prompt, char *pass, size_t cap,
	int confirm);

/* --- conf.c: api.conf, git-config syntax ------------------------------- */

/*
 * Keys are "section.name" or "section.subsection.name"; section and name
 * are lower-cased as git does.  The last value of a key wins.
 */
typedef struct api_conf api_conf;
/* name is used in messages ("api.conf line 3: ..."). */
int api_conf_parse(api_conf **out, const char *text, size_t len,
	const char *name);
/* The value, or NULL if the key is absent. */
const char *api_conf_get(const api_conf *c, const char *key);
/* A duration "30", "30d", "6m" (months), "5y" in days, else -1. */
long api_conf_days(const char *v);
void api_conf_free(api_conf *c);
/* A boolean in git-config's words (true/yes/on/1, false/no/off/0, any
 * case; absent: false) into *out; API_EINVAL for anything else. */
int api_conf_bool(const api_conf *c, const char *key, int *out);
/* The documented defaults written by api-init. */
const char *api_conf_default_text(void);

/* --- staff.c: staff/<handle> files and allowed_signers ------------------ */

#define API_ROLES "caseworker lead admin auditor service"

typedef struct api_staff {
	char handle[API_HANDLE_MAX + 1];
	char role[16];
	api_pubid pub;
	char valid_from[32];         /* ISO 8601 UTC */
	char valid_until[32];        /* "" while active */
	char added_by[API_HANDLE_MAX + 1];
} api_staff;

typedef struct api_staff_list {
	api_staff *v;
	size_t n;
} api_staff_list;

int api_role_valid(const char *role);
int api_staff_parse(api_staff *m, const char *text, size_t len);
int api_staff_format(const api_staff *m, api_buf *out);
/* allowed_signers for stock git: one line per staff key, principals the
 * handles, namespaces "git", valid-after/valid-before from the files. */
int api_allowed_signers(const api_staff_list *l, api_buf *out);
/* Index of the member whose signing key is pk, or -1. */
long api_staff_find_key(const api_staff_list *l, const unsigned char pk[32]);
long api_staff_find(const api_staff_list *l, const char *handle);
void api_staff_list_free(api_staff_list *l);
/* "2026-11-26T14:30:00Z" <-> seconds since the epoch (UTC). */
int api_time_format(char out[32], int64_t t);
int api_time_parse(const char *s, int64_t *t);

/* --- store.c: the git store and the commit writer ---------------------- */

typedef struct api_store api_store;
struct git_repository;
struct git_tree;

/*
 * Opens the store at dir (NULL: $API_DIR, else the current directory).
 * Refuses a directory that is not a git repository, or one without
 * api.conf on refs/heads/main.
 */
int api_store_open(api_store **out, const char *dir);
/* Creates a bare repository in dir (which must be absent or empty). */
int api_store_create(api_store **out, const char *dir);
void api_store_free(api_store *s);
const char *api_store_path(const api_store *s);
/* The libgit2 repository (owned by the store). */
struct git_repository *api_store_repo(const api_store *s);
/*
 * Asks the kernel to read the store's packs into the page cache ahead of
 * a program that reads objects from all over them (every case's events):
 * one stream of large reads in the background instead of a disk seek
 * per object on a cold cache.  Only a hint; nothing fails.
 */
void api_store_prefetch(api_store *s);

/*
 * Work shared out over the cores: api_fanout_start starts one thread
 * fewer than there are cores (up to 8; none when few is set), each
 * running fn(ctx, store) with a store of its own opened on s's path
 * (libgit2 objects are for one thread at a time, and threads sharing an
 * object database take turns at its lock); a thread whose store does
 * not open leaves the work to the others.  The caller then works too
 * (with s) and api_fanout_join waits for the threads.  fn claims its
 * work from ctx itself.  The threads use *f and ctx until they are
 * joined: both stay where they are, alive, until api_fanout_join.
 */
typedef struct api_fanout {
	pthread_t th[8];
	size_t n;
	api_store *s;
	void (*fn)(void *ctx, api_store *s);
	void *ctx;
} api_fanout;
void api_fanout_start(api_fanout *f, api_store *s, int few,
	void (*fn)(void *ctx, api_store *s), void *ctx);
void api_fanout_join(api_fanout *f);
/* Sets the message "what: <libgit2's last error>" and returns code. */
int api_git_fail(int code, const char *what);
/* The staff files of a tree (NULL: none). */
int api_staff_from_tree(struct git_repository *repo, struct git_tree *tree,
	api_staff_list *out);
/* The current configuration and staff (read from the tip of main). */
/* A store on a repository the caller opened (and frees after it). */
int api_store_wrap(api_store **out, struct git_repository *repo);
int api_store_conf(api_store *s, api_conf **out);
int api_store_staff(api_store *s, api_staff_list *out);
/* A file of the tip of main; API_ENOTFOUND if absent. */
int api_store_read(api_store *s, const char *path, api_buf *out);

/*
 * One signed commit.  build() is called with a transaction on the tip it
 * will extend (again on the new tip if another writer got there first):
 * it reads what it needs and records its changes.  Returning an error
 * aborts the write and leaves refs untouched.
 */
typedef struct api_tx api_tx;
int api_tx_read(api_tx *tx, const char *path, api_buf *out);
/* Lists the entry names of a directory of the base tree, sorted; the
 * caller frees names[i] and names. */
int api_tx_list(api_tx *tx, const char *dir, char ***names, size_t *n);
/* A later put or remove of a path replaces the earlier. */
int api_tx_put(api_tx *tx, const char *path, const void *data, size_t len);
int api_tx_remove(api_tx *tx, const char *path);
/* Subject line (generic, no personal data) and trailers. */
int api_tx_message(api_tx *tx, const char *subject, const char *action,
	const char *case_id, const char *object);
/* One more trailer "KEY: VALUE" after those (KEY "Api-Name", VALUE one
 * line of text); the message holds at most 1 KiB of them. */
int api_tx_trailer(api_tx *tx, const char *key, const char *value);
/* The time the commit will carry, seconds since the epoch. */
int64_t api_tx_now(const api_tx *tx);
/* 1 when the commit will be the first of the store. */
int api_tx_is_root(const api_tx *tx);

/* The staff of the base tree. */
int api_tx_staff(api_tx *tx, api_staff_list *out);
/*
 * Checks that signer is an active member of staff on the base tree, with
 * its key, and with one of roles (space-separated); else API_EPERM.
 */
int api_tx_require_role(api_tx *tx, const api_identity *signer,
	const char *roles);
/* The same check on a staff list already loaded. */
int api_staff_require(const api_staff_list *l, const api_identity *signer,
	const char *roles);
/* Writes staff/<handle> of m and allowed_signers for all of l. */
int api_tx_put_staff(api_tx *tx, const api_staff *m, const api_staff_list *l);

typedef int (*api_build_fn)(void *ctx, api_tx *tx);
/* The commit id is written to out (41 bytes hex) if not NULL. */
int api_store_write(api_store *s, const api_identity *signer,
	api_build_fn build, void *ctx, char *out);

/*
 * The same on another ref.  API_WRITE_ROOT: the commit has no parent (the
 * ref holds only the current state, so that what a write replaces can be
 * removed from the repository for good: the case keys).  API_WRITE_EMPTY:
 * the tree holds only what build() puts, nothing of the parent's (the
 * read log: whatever a tip holds, a read adds one file and no more).
 */
enum { API_WRITE_ROOT = 1, API_WRITE_EMPTY = 2 };
int api_store_write_ref(api_store *s, const api_identity *signer,
	const char *ref, int flags, api_build_fn build, void *ctx, char *out);
/*
 * One commit of tree on parents (np of them, 0 for a root), message msg,
 * author and committer signer's handle at time when, signed with SSHSIG
 * in its gpgsig header as every commit of a store; its id in out.
 */
struct git_tree;
struct git_commit;
struct git_oid;
int api_commit_signed(struct git_repository *repo, const api_identity *signer,
	int64_t when, const char *msg, const struct git_tree *tree,
	const struct git_commit **parents, size_t np, struct git_oid *out);
/* A file of the tip of ref; API_ENOTFOUND if the ref or file is absent. */
int api_store_read_ref(api_store *s, const char *ref, const char *path,
	api_buf *out);
/* The tree of the tip of ref (NULL: main); the caller frees it. */
int api_store_tree(api_store *s, const char *ref, struct git_tree **out);

/* --- case.c: cases, their keys and records ------------------------------ */

#define API_KEYS_REF "refs/api/keys"
#define API_CASE_ID_LEN 10       /* Crockford base32, 50 random bits */
#define API_OBJ_ID_LEN 27        /* 20261126T143000.123Z-k3vd2x */
#define API_NOTE_MAX (16 * 1024 * 1024)   /* the text of one note */

/* A new case ID (out: API_CASE_ID_LEN + 1 bytes). */
void api_case_id_new(char *out);
int api_case_id_valid(const char *s);
/* A new note or event ID, now to the millisecond and 30 random bits
 * (out: API_OBJ_ID_LEN + 1 bytes). */
int api_obj_id_new(char *out);
int api_obj_id_valid(const char *s);
/* "cases/S/H/ID" (out: 32 bytes). */
void api_case_dir(char *out, const char *id);

/* The team file: one handle a line, the lead caseworker first. */
typedef struct api_team {
	size_t n;
	char (*member)[API_HANDLE_MAX + 1];
} api_team;
int api_team_parse(api_team *t, const char *text, size_t len);
int api_team_add(api_team *t, const char *handle);  /* no duplicates */
int api_team_has(const api_team *t, const char *handle);
int api_team_format(const api_team *t, api_buf *out);
void api_team_free(api_team *t);

/*
 * Records: a header of "Key: value" lines, an empty line, a body.  Values
 * are one line of printable UTF-8; the whole text is UTF-8 without NUL.
 */
#define API_RECORD_FIELDS 32
typedef struct api_record {
	api_buf text;            /* a secret copy, fields split in place */
	size_t n;
	const char *key[API_RECORD_FIELDS], *val[API_RECORD_FIELDS];
	int blank;               /* an empty line ended the header */
	api_buf raw;             /* api_case_read: the exact decrypted text */
	const char *body;        /* NUL-terminated, may contain anything */
	size_t bodylen;
} api_record;
int api_text_check(const void *text, size_t len, const char *what);
/* 1 when s is exactly n lower-case hex digits (git's object names). */
int api_hex_valid(const char *s, size_t n);
/* Appends "key: value\n" after checking value (NULL or "": nothing). */
int api_record_field(api_buf *out, const char *key, const char *value);
/* r: zeroed, or a record parsed before (its buffer is used again). */
int api_record_parse(api_record *r, const void *text, size_t len);
const char *api_record_get(const api_record *r, const char *key);
void api_record_free(api_record *r);
/* "YYYY-MM-DD" <-> days since 1970-01-01 */
int api_date_parse(const char *s, long *days);
void api_date_format(char out[11], long days);
long api_date_today(void);

/*
 * A case as of the tip of main: its team, recipient and files, and after
 * api_case_unlock its keys.
 */
typedef struct api_case api_case;
/* id is a full case ID or a unique prefix of at least 4 characters. */
int api_case_load(api_store *s, const char *id, api_case **out);
void api_case_free(api_case *c);
const char *api_case_id(const api_case *c);
const api_team *api_case_team(const api_case *c);
/* The purge record ("purged: DATE\nby: HANDLE\nreason: TEXT\n"), or NULL. */
const char *api_case_purged(const api_case *c);
/* Names of notes/ or events/ (kind "notes" or "events"), sorted. */
int api_case_files(api_case *c, const char *kind, char ***names, size_t *n);
/* Decrypts the case keys with me; API_EPERM if me cannot (not on the team). */
int api_case_unlock(api_case *c, const api_identity *me);
/* Only the events key (leads, service staff, admins, auditors); API_EPERM
 * if me cannot. */
int api_case_unlock_events(api_case *c, const api_identity *me);
/*
 * Decrypts notes/NAME or events/NAME into r (zeroed, or a record read
 * before, whose buffers are used again) and checks that its header
 * names this case and this object (else API_EINVAL, "tampering ...
 * moved ciphertext").  Unlocks the case with me first if needed: the
 * team's envelope, else (for events) the events envelope.
 */
int api_case_read(api_case *c, const api_identity *me, const char *kind,
	const char *name, api_record *r);
/* Calls fn for every case ID of the tip of main, in tree order. */
int api_cases_each(api_store *s, int (*fn)(void *ctx, const char *id),
	void *ctx);

/*
 * Keys.  A case has two key pairs: notes are encrypted to the first,
 * events to the second.  Its "recipient" file holds both public keys
 * (two age1 lines, notes first).  API_KEYS_REF holds the secret keys:
 * cases/S/H/ID/key.age, both keys, encrypted to the team; and
 * cases/S/H/ID/events.age, the events key only, encrypted to the team and
 * the store's leads, service staff, admins and auditors.  Removing both
 * envelopes (crypto-shredding) leaves nothing of the case readable.
 */
int api_recipient_parse(const char *text, size_t len, unsigned char note_pk[32],
	unsigned char event_pk[32]);
int api_recipient_format(api_buf *out, const unsigned char note_pk[32],
	const unsigned char event_pk[32]);
/* The age keys of the team and the active leads (events: and service
 * staff), each once; the caller frees *pks. */
int api_envelope_recipients(const api_team *team, const api_staff_list *staff,
	int events, unsigned char (**pks)[32], size_t *n);
/*
 * An envelope: an age identity file, "# comment", then "# notes" and the
 * nn notes keys (none: no section), "# events" and the ne events keys
 * (32 bytes each, oldest first), encrypted to pks.
 */
int api_envelope(api_buf *out, const char *comment, const unsigned char *note_sks,
	size_t nn, const unsigned char *event_sks, size_t ne,
	const unsigned char (*pks)[32], size_t npk);
#define API_MAX_KEYS 64          /* per kind and case: one more per revoke */
typedef struct api_keyset {
	unsigned char *note_sks, *event_sks;   /* secret memory, 32 bytes each */
	size_t nn, ne;
} api_keyset;
/* The keys of a decrypted envelope. */
int api_envelope_parse(const char *text, size_t len, api_keyset *k);
void api_keyset_free(api_keyset *k);
/* The secret keys of the case (key.age), for re-encrypting them. */
int api_case_keys(api_case *c, const api_identity *me, api_keyset *k);

/*
 * Writes both envelopes of case id in tx (which must be on API_KEYS_REF):
 * nn notes keys and ne events keys, oldest first, for the members of team
 * (and the leads, service staff and admins, as the envelope says); and
 * key.for, which names the team and recipient files main has for them
 * (mainteam: the team file as main lists it, NULL when it is team).
 */
int api_tx_put_envelopes(api_tx *tx, const char *id,
	const unsigned char *note_sks, size_t nn, const unsigned char *event_sks,
	size_t ne, const api_team *team, const api_team *mainteam,
	const api_staff_list *staff);
/* Removes whatever of the envelopes of case id tx's tip has; *found: how
 * many files that was. */
int api_tx_remove_envelopes(api_tx *tx, const char *id, int *found);
/*
 * key.for: "recipient OID\nteam OID\n", the blob ids of the recipient and
 * team files made from these contents.  api_keyfor_of: the same for the
 * case directory dir of tree (API_ENOTFOUND if it lacks either file).
 */
int api_keyfor_format(api_buf *out, const api_buf *recipient,
	const api_buf *team);
int api_keyfor_of(struct git_tree *tree, const char *dir, api_buf *out);
/*
 * A case for writing in tx: its team and its two public keys.  Checks
 * that me is active staff, a caseworker on the team, or a lead or admin.
 */
typedef struct api_case_w {
	char dir[32];
	api_team team;
	unsigned char note_pk[32], event_pk[32];
} api_case_w;
int api_tx_case(api_tx *tx, const char *id, const api_identity *me,
	api_case_w *w);
void api_case_w_free(api_case_w *w);
/* Writes one encrypted record at path in tx. */
int api_tx_put_record(api_tx *tx, const char *path, const api_buf *plain,
	const unsigned char (*pks)[32], size_t n);

/* --- status.c: a case's state and its reminders ----------------------- */

/* Dates are days since 1970-01-01; -1: none. */
typedef struct api_case_state {
	char id[API_CASE_ID_LEN + 1];
	char lead[API_HANDLE_MAX + 1];       /* the team's first member */
	char phase[32], prev[32];            /* now, and before the last change */
	char reason[64];                     /* of the last change, if any */
	long since;                          /* the day of the last change */
	long opened, last_contact, last_assessment;
	long appointment;                    /* the last one scheduled */
	long review, release, custody, retention;
	int consent;                         /* the last consent event: given */
} api_case_state;
/* Reads every event of c (with the case keys or me's own key). */
int api_case_state_load(api_case *c, const api_identity *me,
	api_case_state *st);
/* The configured phases, in order (the last one is "closed"). */
const char *api_phases(const api_conf *conf);
/* 1 if phase is the last of the configured phases. */
int api_phase_is_closed(const api_conf *conf, const char *phase);
/* The index of w among the words (separated by blanks) of list, or -1. */
int api_word_index(const char *list, const char *w);
/*
 * The phase a case goes to when asked for "to" (a phase or "reopen"):
 * forward one phase, from paused back to the one before, to the last
 * (closed) from anywhere with a configured reason, reopen from closed to
 * the phase before closing.  Else API_EINVAL naming the allowed moves.
 */
int api_phase_next(const api_conf *conf, const api_case_state *st,
	const char *to, const char *reason, char *out, size_t cap);

typedef struct api_due {
	char id[API_CASE_ID_LEN + 1];
	char lead[API_HANDLE_MAX + 1];
	long date;                           /* due on; before as_of: overdue */
	char rule[16];                       /* appointment contact review ... */
	char detail[128];                    /* one line, no personal data */
} api_due;
/*
 * The states of cases, kept between runs (cache.c): under the blob ids of
 * each case's events/ tree and team file, in an age file encrypted to
 * me.  get: 1 and *st when it holds case id under key, else 0.  A
 * cache that cannot be read or written is no cache; API_CACHE=0 in the
 * environment turns it off.
 */
typedef struct api_state_cache api_state_cache;
int api_state_cache_open(api_store *s, const api_identity *me,
	api_state_cache **out);
/* The key of a case's state: its events/ tree and team file as now. */
int api_state_cache_key(api_case *cs, unsigned char key[32]);
/* get is safe from several threads at once; put and save are not. */
int api_state_cache_get(api_state_cache *c, const char *id,
	const unsigned char key[32], api_case_state *st);
int api_state_cache_put(api_state_cache *c, const unsigned char key[32],
	const api_case_state *st);
int api_state_cache_save(api_state_cache *c);
/* Forgets case id (a purged case), if the cache holds it; not safe from
 * several threads at once either. */
void api_state_cache_drop(api_state_cache *c, const char *id);
/*
 * A whole run: key is made of main's cases/ tree and how (who asked, and
 * what for).  run_get: 1 and the states of every case that run listed
 * (in *states, secret memory the caller frees with sodium_free) when the
 * cache's last whole run had this key, else 0.  run_put records the
 * cases a run listed, all of them put before.
 */
int api_state_cache_run_key(api_store *s, const char *how,
	unsigned char key[32]);
int api_state_cache_run_get(api_state_cache *c, const unsigned char key[32],
	api_case_state **states, size_t *n);
int api_state_cache_run_put(api_state_cache *c, const unsigned char key[32],
	char (*ids)[API_CASE_ID_LEN + 1], size_t n);
void api_state_cache_free(api_state_cache *c);
/* The blob or tree id of an entry (team, events, ...) of the case. */
int api_case_entry_id(api_case *c, const char *name, struct git_oid *out);

/* Appends to v what is due on or before as_of + within. */
int api_due_compute(const api_case_state *st, const api_conf *conf,
	long as_of, long within, api_due **v, size_t *n);

/* --- edit.c: editing plaintext in memory only ---------------------------- */

/*
 * Makes a private directory (0700) for plaintext on a memory file system:
 * $XDG_RUNTIME_DIR when set, else /dev/shm; refuses one that is not a
 * tmpfs.  out gets its path.
 */
int api_edit_dir(char *out, size_t cap);
/* Overwrites every file in dir with zeros, removes them and dir. */
void api_edit_wipe(const char *dir);
/*
 * Opens $VISUAL, else $EDITOR, else vi, on tmpl in a file called name in
 * such a directory; the edited text goes to out (made secret).  The
 * directory is wiped on every return, and when SIGHUP, SIGTERM or SIGPIPE
 * arrives (which is then re-raised).  API_ECANCEL: the text was left
 * unchanged, or the editor failed.
 */
int api_edit(const char *tmpl, size_t len, const char *name, api_buf *out);

/*
 * verify.c: replays refs/heads/main, parents first, and checks the store's
 * policy on every commit (signature, signer, staff-admin, case-write,
 * append-only, merge, layout, allowed-signers, age-format).  Returns 0
 * when the walk completed, whatever it found (see r->ok), or a negative
 * code when the repository cannot be read.  since (NULL: the whole
 * history) is a commit on main whose state is trusted: the walk starts
 * after it.  progress (may be NULL) is called every 1000 commits.
 */
typedef struct api_verify_report {
	int ok;                  /* 1: no violation */
	size_t commits;          /* commits verified (before the violation) */
	size_t purges;           /* recorded purges among them */
	char commit[41];         /* the first offending commit, hex */
	char rule[24];           /* e.g. "signature" */
	char path[512];          /* the offending path, or "-" */
	char message[256];       /* one sentence */
} api_verify_report;
typedef void (*api_verify_progress_fn)(void *ctx, size_t commits);
int api_verify_history(struct git_repository *repo, const char *since,
	api_verify_report *r, api_verify_progress_fn progress, void *ctx);
/* The same over the commits of tip that hide (NULL: none) lacks. */
int api_verify_range(struct git_repository *repo, const struct git_oid *tip,
	const struct git_oid *hide, api_verify_report *r,
	api_verify_progress_fn progress, void *ctx);
/*
 * The SSH signature of one commit, checked as api_verify_history checks
 * it: one gpgsig header, namespace "git", verifying over the commit.
 * 0 and the signer's key in pk; API_ESIG (message set) when the commit
 * is unsigned or the signature does not verify; API_EIO when the commit
 * cannot be read.  Whether the key is trusted is the caller's business.
 */
struct git_oid;
int api_verify_commit_sig(struct git_repository *repo, const struct git_oid *id,
	unsigned char pk[32]);

/*
 * readlog.c: the read log.  Who decrypted which case, when, with which
 * stated purpose: one signed commit per read on refs/api/reads/YYYY (the
 * UTC year of the commit), never on main.  A year's log is a chain of its
 * own, so that it can be deleted when its retention ends without
 * touching main.  Each commit's tree is one file, "cases" (the IDs read,
 * one a line, sorted); the message carries the trailers Api-Action: read,
 * Api-Case (when one case was read), Api-Program, Api-Purpose and
 * Api-Cases (the number of cases).  See api-store(5).
 */
#define API_READS_REF "refs/api/reads/"
#define API_PURPOSE_MAX 200      /* bytes */
#define API_READS_MAX 1000000    /* cases in one read */

/* A stated purpose: 1 to API_PURPOSE_MAX bytes of UTF-8, not only
 * spaces, without control characters (C0, DEL, C1); else API_EINVAL. */
int api_purpose_check(const char *purpose);
/* readlog.enabled and readlog.mandatory of api.conf on main (absent:
 * 0), and readlog.retention in days (absent: 2 years); API_EINVAL when
 * one is not a boolean or a duration. */
int api_readlog_settings(api_store *s, int *enabled, int *mandatory,
	long *retention);

/* The case IDs of one read; duplicates are dropped when it is written. */
typedef struct api_reads {
	char (*id)[API_CASE_ID_LEN + 1];
	size_t n, cap;
} api_reads;
int api_reads_add(api_reads *r, const char *id);
void api_reads_free(api_reads *r);    /* frees the memory, keeps the struct */

/*
 * Writes the log of one read of the cases in r (at least one) by me,
 * through program (e.g. "api-show") for purpose, on the ref of the
 * current year; the commit id to out (41 bytes) if not NULL.  It writes
 * whatever the settings say: asking them is the caller's business.
 */
int api_readlog_record(api_store *s, const api_identity *me,
	const char *program, const char *purpose, const api_reads *r, char *out);

/* The year of refs/api/reads/YYYY, or -1 for any other name. */
int api_readlog_year(const char *ref);
/* Every ref under refs/api/reads/, sorted; the caller frees refs[i] and
 * refs. */
int api_readlog_refs(api_store *s, char ***refs, size_t *n);

/*
 * Checks the read log on ref, oldest commit first, against the staff of
 * main's tip, stopping at the first violation (rules: signature, signer,
 * merge, year, layout, trailers; see api-verify(1)).  r as for
 * api_verify_history, with r->path the ref and r->commits the reads
 * verified; *cases (if not NULL) gets the cases they name.  Returns 0
 * when the walk completed, whatever it found, else a negative code.
 */
int api_readlog_verify(api_store *s, const char *ref, api_verify_report *r,
	size_t *cases);
/* The same over the commits of tip that hide (NULL: none) lacks, as the
 * log of year named ref, against the staff list given. */
int api_readlog_verify_range(api_store *s, const char *ref, int year,
	const struct git_oid *tip, const struct git_oid *hide,
	const api_staff_list *staff, api_verify_report *r, size_t *cases);

/* One entry of a read log, as api_readlog_each gives it; "-" where the
 * commit does not say. */
typedef struct api_read_entry {
	char commit[41];
	char time[32];               /* ISO 8601 UTC */
	char handle[API_HANDLE_MAX + 1];
	char program[33];
	char purpose[API_PURPOSE_MAX + 1];
	char case_id[API_CASE_ID_LEN + 1];
} api_read_entry;
/* Calls fn for every case of every read on ref, oldest first; nothing is
 * verified.  A non-zero return of fn stops the walk and is returned. */
int api_readlog_each(api_store *s, const char *ref,
	int (*fn)(void *ctx, const api_read_entry *e), void *ctx);

/* --- sync.c: a store and its copy on a git server ---------------------- */

typedef struct api_sync_opts {
	int progress;                /* progress on stderr */
	int tries;                   /* rounds when pushes are refused; 0: 20 */
	const char *ssh_key;         /* NULL: $API_SSH_KEY, else ssh-agent */
	/* called with 1 as a talk with the server starts and at each sign
	 * of life from it, with 0 when it ends: a program's watchdog */
	void (*net)(void *ctx, int busy);
	void *net_ctx;
} api_sync_opts;
typedef struct api_sync_result {
	size_t fetched;              /* commits of main the server brought */
	size_t merges;               /* merge commits made */
	size_t pushes;               /* pushes the server took */
	int rounds;                  /* fetch-merge-push rounds */
} api_sync_result;
/*
 * Fetches from remote (a remote of the store, or a URL or path), checks
 * what it brings with the api-verify rules, joins it with the store
 * (merges signed by me) and pushes the result.  The store is unchanged
 * when the server is unreachable, not a store, or its history fails.
 */
int api_sync(api_store *s, const char *remote, const api_identity *me,
	const api_sync_opts *o, api_sync_result *r);
/* A new bare store in dir (absent or empty) from url, remote "origin",
 * its history checked before it is used; dir is removed on failure. */
int api_clone(const char *url, const char *dir, const api_sync_opts *o,
	api_sync_result *r);
/*
 * A server's check of a push (its pre-receive hook): updates holds the
 * lines "OLD NEW REF" git gives the hook.  0 when every update keeps the
 * rules; else API_EVERIFY and a message naming the ref and what is wrong.
 */
int api_receive_check(struct git_repository *repo, const char *updates);

/* --- bundle.c: handover bundles (see its header comment) --------------- */

#define API_BUNDLE_MAX (1024UL * 1024 * 1024)    /* plaintext, bytes */
#define API_BUNDLE_MAX_RECORDS 1000000

/* A ustar archive of plain files, written and read in memory. */
int api_tar_add(api_buf *out, const char *name, const void *data, size_t len,
	int64_t mtime);
int api_tar_end(api_buf *out);
/* Calls fn for every entry; a non-zero return of fn stops and is
 * returned.  Anything but a well-formed archive of plain files is
 * API_EINVAL. */
typedef int (*api_tar_fn)(void *ctx, const char *name,
	const unsigned char *data, size_t len);
int api_tar_each(const unsigned char *data, size_t len, api_tar_fn fn,
	void *ctx);

typedef struct api_bundle_staff {
	char role[16];
	api_pubid pub;
} api_bundle_staff;
typedef struct api_bundle_record {
	char path[96];               /* notes/ID.md or events/ID */
	unsigned char sha256[32];    /* of the plaintext */
	char blob[41], commit[41];   /* in the exporting store */
} api_bundle_record;
typedef struct api_bundle_manifest {
	char case_id[API_CASE_ID_LEN + 1];
	char store[41];              /* main of the exporting store */
	char exported[32];           /* ISO 8601 UTC */
	char by[API_HANDLE_MAX + 1];
	unsigned char recipient[32];
	char consent[API_OBJ_ID_LEN + 1];    /* the consent event, or "" */
	char *override;              /* the reason without consent, or NULL */
	api_bundle_staff *staff;
	size_t nstaff;
	api_bundle_record *rec;
	size_t nrec;
} api_bundle_manifest;
int api_bundle_manifest_format(const api_bundle_manifest *m, api_buf *out);
/* Strict: every line as api_bundle_manifest_format writes it. */
int api_bundle_manifest_parse(api_bundle_manifest *m, const char *text,
	size_t len);
void api_bundle_manifest_free(api_bundle_manifest *m);

/* A bundle decrypted and checked: text[i] is record m.rec[i]. */
typedef struct api_bundle {
	api_bundle_manifest m;
	api_buf manifest;            /* its exact text */
	api_buf *text;               /* secret */
	const api_bundle_staff *signer;
	unsigned char sha256[32];    /* of the age file */
} api_bundle;
/*
 * Decrypts the bundle ct with me's key and checks it (see bundle.c):
 * API_EAGE_NOMATCH for another recipient, API_EAGE_* for a damaged age
 * file, API_EINVAL for anything inside that does not hold.
 */
int api_bundle_read(api_bundle **out, const api_identity *me, const void *ct,
	size_t ctlen);
void api_bundle_free(api_bundle *b);

/* The most bytes any object of a store may hold: larger claims are refused
 * before the object is read (lib/odb.c). */
#define API_OBJECT_MAX (64 * 1024 * 1024)
/* Puts that guard in front of the object database of repo. */
int api_repo_guard(struct git_repository *repo);
/* Installs libgit2's allocator with its caps on one allocation (lib/odb.c);
 * api_init does, after git_libgit2_init. */
int api_odb_init(void);
/*
 * Moves ref of repo from cur to id in one compare-and-swap, holding the
 * store's lock (lib/store.c, ref_flock): cur NULL, the ref must not exist;
 * id NULL, the ref is deleted (if it still holds cur, when cur is given).
 * Returns libgit2's code (GIT_EMODIFIED, GIT_EEXISTS, GIT_ELOCKED ...).
 * Every ref the toolkit moves in a store should move through this.
 */
/* Opens (makes) the lock file dir/name: 0600, or 0660 where dir is
 * group-writable, narrowed when its owner finds it wider.  An fd for
 * flock, or -1. */
int api_lock_open(const char *dir, const char *name);
struct git_oid;
int api_ref_move(struct git_repository *repo, const char *ref,
	const struct git_oid *id, const struct git_oid *cur, const char *msg);

#endif
