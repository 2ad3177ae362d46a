/*
 * age.c - age v1 (C2SP age.md): X25519 and scrypt recipients, ASCII
 * armor, the STREAM payload in 64 KiB chunks.
 *
 * Where the spec leaves room, this follows the reference implementation,
 * so that the CCTV vectors pass and every file is readable by stock age:
 * header lines end in LF only, stanza arguments are VCHAR strings, bodies
 * are canonical unpadded base64 in 64-column lines, an scrypt stanza must
 * be alone, X25519 shares that give an all-zero secret are errors.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "api.h"

#define INTRO "age-encryption.org/v1"
#define X25519_LABEL "age-encryption.org/v1/X25519"
#define SCRYPT_LABEL "age-encryption.org/v1/scrypt"
#define ARMOR_BEGIN "-----BEGIN AGE ENCRYPTED FILE-----"
#define ARMOR_END "-----END AGE ENCRYPTED FILE-----"
#define FILE_KEY 16
#define TAG crypto_aead_chacha20poly1305_ietf_ABYTES
#define ENC_CHUNK (API_AGE_CHUNK + TAG)
#define ARMOR_MAX_WS 1024        /* whitespace allowed around armor */
#define ARMOR_LINE_MAX (ARMOR_MAX_WS + 64)

/*
 * Secret scratch of a decryption or encryption, in secret memory.
 * pt stays last: a decryption wipes the keys before it and only the
 * part of pt that it used.
 */
struct secrets {
	unsigned char file_key[FILE_KEY];
	unsigned char key[32];       /* payload key, or a wrapping key */
	unsigned char mac_key[32];
	unsigned char shared[32];
	unsigned char pt[API_AGE_CHUNK];
};

struct xkey {
	unsigned char sk[32];
	unsigned char pk[32];
	int pk_is;                   /* 0 not yet, or API_AGE_PK_KNOWN, _HINT */
};

/* The input of a decryption: raw bytes, and the armor decoder's state. */
struct in {
	api_read_fn r;
	void *rctx;
	size_t pos, len;
	int raw_eof;
	int armored;
	int a_started, a_eof, a_err;
	unsigned char a_dec[48];
	size_t a_pos, a_len;
	unsigned char raw[16384];    /* last: in_reset clears what precedes */
};

struct stanza {
	size_t args;                 /* offset of the argument line (after "-> ") */
	size_t body, bodylen;        /* offset and length in hdr->bodies */
};

/* A parsed header; public data only, so its buffers need no wiping. */
struct header {
	api_buf text;                /* every header byte read, for the MAC */
	size_t mac_off;              /* header bytes covered by the MAC */
	unsigned char mac[32];
	api_buf args;                /* NUL-terminated argument lines */
	api_buf bodies;
	struct stanza *st;
	size_t nst, capst;
};

/* Header memory kept between decryptions, per buffer; more is freed. */
#define HEADER_KEEP (64 * 1024)

static void
header_free(struct header *h)
{
	api_buf_free(&h->text);
	api_buf_free(&h->args);
	api_buf_free(&h->bodies);
	free(h->st);
	memset(h, 0, sizeof *h);
}

/*
 * Empty again for the next file, keeping the memory, unless a large
 * header made it grow: that is given back rather than held for good.
 */
static void
header_reset(struct header *h)
{
	if (h->text.cap > HEADER_KEEP || h->args.cap > HEADER_KEEP ||
	    h->bodies.cap > HEADER_KEEP ||
	    h->capst > HEADER_KEEP / sizeof *h->st) {
		header_free(h);
		return;
	}
	h->text.len = h->args.len = h->bodies.len = 0;
	h->mac_off = 0;
	h->nst = 0;
}

struct api_age_keys {
	struct xkey *x;              /* secret memory */
	size_t nx, capx;
	char *pass;                  /* secret memory */
	size_t passlen;
	int max_wf;
	/* scratch of a decryption, reused so that small files allocate nothing */
	struct secrets *s;
	unsigned char *ct;           /* one encrypted chunk */
	struct in *in;
	struct header h;
	/* HMAC keyed with HKDF's empty salt (32 zero bytes), before any
	 * input: the "header" extract of every file starts from a copy */
	crypto_auth_hmacsha256_state hdr_extract;
};

/* ---- keys ------------------------------------------------------------ */

int
api_age_keypair(unsigned char pk[32], unsigned char sk[32])
{
	randombytes_buf(sk, 32);
	return api_age_public(pk, sk);
}

int
api_age_public(unsigned char pk[32], const unsigned char sk[32])
{
	if (crypto_scalarmult_base(pk, sk) != 0)
		return api_error_set(API_EINVAL, "invalid X25519 secret key");
	return API_OK;
}

int
api_age_recipient_encode(char *out, const unsigned char pk[32])
{
	return api_bech32_encode(out, API_AGE_RECIPIENT_LEN + 1, "age", pk, 32, 0);
}

static int
decode_key(unsigned char key[32], const char *s, const char *prefix,
    const char *what)
{
	size_t pl = strlen(prefix);
	char hrp[32];
	unsigned char data[33];
	size_t len = sizeof data;
	int rc = API_OK;

	if (strncmp(s, prefix, strlen(prefix)) != 0)
		return api_error_set(API_EINVAL, "malformed %s: it must begin with %s",
		    what, prefix);
	if (api_bech32_decode(s, hrp, sizeof hrp, data, &len) < 0)
		rc = api_error_set(API_EINVAL, "malformed %s: bad bech32 encoding",
		    what);
	/* "age1q1..." decodes with the prefix "age1q": a plugin, not X25519 */
	else if (strlen(hrp) != pl - 1 || strncasecmp(hrp, prefix, pl - 1) != 0)
		rc = api_error_set(API_EINVAL, "malformed %s: not an X25519 key",
		    what);
	else if (len != 32)
		rc = api_error_set(API_EINVAL, "malformed %s: wrong length", what);
	else
		memcpy(key, data, 32);
	sodium_memzero(data, sizeof data);
	return rc;
}

int
api_age_recipient_parse(unsigned char pk[32], const char *s)
{
	return decode_key(pk, s, "age1", "recipient");
}

int
api_age_identity_encode(char *out, const unsigned char sk[32])
{
	return api_bech32_encode(out, API_AGE_IDENTITY_LEN + 1,
	    "age-secret-key-", sk, 32, 1);
}

int
api_age_identity_parse(unsigned char sk[32], const char *s)
{
	return decode_key(sk, s, "AGE-SECRET-KEY-1", "identity");
}

int
api_age_keys_new(api_age_keys **out)
{
	static const unsigned char zero_salt[crypto_auth_hmacsha256_BYTES];
	api_age_keys *k;

	*out = NULL;
	if ((k = calloc(1, sizeof *k)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	k->s = api_secret_alloc(sizeof *k->s);
	k->ct = malloc(ENC_CHUNK);
	k->in = malloc(sizeof *k->in);
	if (k->s == NULL || k->ct == NULL || k->in == NULL) {
		api_age_keys_free(k);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	k->max_wf = API_AGE_MAX_WORK_FACTOR;
	crypto_auth_hmacsha256_init(&k->hdr_extract, zero_salt, sizeof zero_salt);
	*out = k;
	return API_OK;
}

int
api_age_keys_add_x25519_pk(api_age_keys *k, const unsigned char sk[32],
    const unsigned char pk[32], int how)
{
	struct xkey *n;

	if (pk != NULL && how != API_AGE_PK_KNOWN && how != API_AGE_PK_HINT)
		return api_error_set(API_EINVAL, "a public key neither known nor "
		    "a hint");
	if (k->nx == k->capx) {
		size_t cap = k->capx ? k->capx * 2 : 4;
		if ((n = api_secret_alloc(cap * sizeof *n)) == NULL)
			return api_error_set(API_ENOMEM, "out of secure memory");
		if (k->nx)
			memcpy(n, k->x, k->nx * sizeof *n);
		api_secret_free(k->x, k->capx * sizeof *n);
		k->x = n;
		k->capx = cap;
	}
	memcpy(k->x[k->nx].sk, sk, 32);
	if (pk != NULL)
		memcpy(k->x[k->nx].pk, pk, 32);
	k->x[k->nx].pk_is = pk != NULL ? how : 0;
	k->nx++;
	return API_OK;
}

int
api_age_keys_add_x25519(api_age_keys *k, const unsigned char sk[32])
{
	return api_age_keys_add_x25519_pk(k, sk, NULL, 0);
}

int
api_age_keys_add_identities(api_age_keys *k, const char *text, size_t len)
{
	char *line = api_secret_alloc(len + 1);
	unsigned char sk[32];
	size_t i = 0, lineno = 0, found = 0;
	int rc = API_OK;

	if (line == NULL)
		return api_error_set(API_ENOMEM, "out of secure memory");
	while (i < len && rc == 0) {
		size_t n = 0;
		lineno++;
		while (i < len && text[i] != '\n')
			line[n++] = text[i++];
		i++;
		if (n > 0 && line[n - 1] == '\r')
			n--;
		line[n] = '\0';
		if (n == 0 || line[0] == '#')
			continue;
		if (memchr(line, '\0', n) != NULL ||
		    api_age_identity_parse(sk, line) < 0) {
			rc = api_error_set(API_EINVAL,
			    "identity line %zu: not an AGE-SECRET-KEY-1 key", lineno);
			break;
		}
		if ((rc = api_age_keys_add_x25519(k, sk)) == 0)
			found++;
	}
	if (rc == 0 && found == 0)
		rc = api_error_set(API_EINVAL, "no AGE-SECRET-KEY-1 identity found");
	sodium_memzero(sk, sizeof sk);
	api_secret_free(line, len + 1);
	return rc;
}

int
api_age_keys_add_passphrase(api_age_keys *k, const char *pass, size_t len,
    int max_work_factor)
{
	char *p = api_secret_alloc(len + 1);

	if (p == NULL)
		return api_error_set(API_ENOMEM, "out of secure memory");
	memcpy(p, pass, len);
	p[len] = '\0';
	api_secret_free(k->pass, k->passlen + 1);
	k->pass = p;
	k->passlen = len;
	k->max_wf = max_work_factor > 0 ? max_work_factor : API_AGE_MAX_WORK_FACTOR;
	return API_OK;
}

size_t
api_age_keys_count(const api_age_keys *k)
{
	return k->nx + (k->pass != NULL);
}

void
api_age_keys_free(api_age_keys *k)
{
	if (k == NULL)
		return;
	api_secret_free(k->x, k->capx * sizeof *k->x);
	api_secret_free(k->pass, k->passlen + 1);
	api_secret_free(k->s, sizeof *k->s);
	free(k->ct);
	free(k->in);
	header_free(&k->h);
	free(k);
}

/* ---- input: raw bytes, optionally through the armor decoder ----------- */

/* Ready for a new input: everything but the buffer, which pos and len guard. */
static void
in_reset(struct in *in, api_read_fn r, void *rctx)
{
	memset(in, 0, offsetof(struct in, raw));
	in->r = r;
	in->rctx = rctx;
}

static int
raw_fill(struct in *in)
{
	size_t got;
	int rc;

	if (in->raw_eof)
		return 0;
	if (in->pos > 0 && in->pos < in->len)
		memmove(in->raw, in->raw + in->pos, in->len - in->pos);
	in->len -= in->pos;
	in->pos = 0;
	if (in->len == sizeof in->raw)
		return 0;
	if ((rc = in->r(in->rctx, in->raw + in->len, sizeof in->raw - in->len,
	    &got)) < 0)
		return rc;
	if (got == 0)
		in->raw_eof = 1;
	in->len += got;
	return 0;
}

/* Up to len raw bytes; fewer only at the end of input. */
static int
raw_read(struct in *in, unsigned char *dst, size_t len, size_t *got)
{
	size_t n = 0;
	int rc;

	while (n < len) {
		if (in->pos == in->len) {
			if (in->raw_eof)
				break;
			/* large reads bypass the buffer */
			if (len - n >= sizeof in->raw) {
				size_t g;
				if ((rc = in->r(in->rctx, dst + n, len - n, &g)) < 0)
					return rc;
				if (g == 0)
					in->raw_eof = 1;
				n += g;
				continue;
			}
			if ((rc = raw_fill(in)) < 0)
				return rc;
			continue;
		}
		size_t c = in->len - in->pos < len - n ? in->len - in->pos : len - n;
		memcpy(dst + n, in->raw + in->pos, c);
		in->pos += c;
		n += c;
	}
	*got = n;
	return 0;
}

/*
 * Only the base64 alphabet (and '=' where padding is allowed): libsodium
 * 1.0.18 reads bytes 0x80-0xff as '/', which would accept encodings that
 * stock age refuses.
 */
static int
b64_chars(const char *s, size_t n, int pad)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
		    (c >= '0' && c <= '9') || c == '+' || c == '/' ||
		    (pad && c == '=')))
			return 0;
	}
	return 1;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
	    c == '\f';
}

/*
 * One armor line without its "\n" and one trailing "\r".  Returns the
 * length, -1 at end of input with nothing read, or an error code.
 */
static long
armor_line(struct in *in, char *line, size_t cap)
{
	size_t n = 0;
	int rc, any = 0;

	for (;;) {
		if (in->pos == in->len) {
			if ((rc = raw_fill(in)) < 0)
				return rc;
			if (in->pos == in->len)
				break;
		}
		any = 1;
		unsigned char c = in->raw[in->pos++];
		if (c == '\n')
			break;
		if (n == cap)
			return api_error_set(API_EAGE_ARMOR, "armor: line too long");
		line[n++] = (char)c;
	}
	if (!any)
		return -1;
	if (n > 0 && line[n - 1] == '\r')
		n--;
	line[n] = '\0';
	return (long)n;
}

/* After the end line: only a little whitespace may follow. */
static int
armor_trailing(struct in *in)
{
	size_t seen = 0;
	int rc;

	for (;;) {
		if (in->pos == in->len) {
			if ((rc = raw_fill(in)) < 0)
				return rc;
			if (in->pos == in->len)
				return 0;
		}
		if (!is_space(in->raw[in->pos]))
			return api_error_set(API_EAGE_ARMOR,
			    "armor: data after the end line");
		in->pos++;
		if (++seen >= ARMOR_MAX_WS)
			return api_error_set(API_EAGE_ARMOR,
			    "armor: too much whitespace after the end line");
	}
}

static int
all_space(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!is_space((unsigned char)s[i]))
			return 0;
	return 1;
}

/* Decodes the next armor line into a_dec. */
static int
armor_next(struct in *in)
{
	char line[ARMOR_LINE_MAX + 1];
	size_t dlen, ws = 0;
	long n;

	while (!in->a_started) {
		if ((n = armor_line(in, line, ARMOR_LINE_MAX)) == -1)
			return api_error_set(API_EAGE_ARMOR, "armor: no begin line");
		if (n < 0)
			return (int)n;
		if (all_space(line, (size_t)n)) {
			if ((ws += (size_t)n + 1) > ARMOR_MAX_WS)
				return api_error_set(API_EAGE_ARMOR,
				    "armor: too much whitespace before the begin line");
			continue;
		}
		if (strcmp(line, ARMOR_BEGIN) != 0)
			return api_error_set(API_EAGE_ARMOR,
			    "armor: the first line is not " ARMOR_BEGIN);
		in->a_started = 1;
	}
	if ((n = armor_line(in, line, ARMOR_LINE_MAX)) == -1)
		return api_error_set(API_EAGE_ARMOR, "armor: no end line");
	if (n < 0)
		return (int)n;
	if (strcmp(line, ARMOR_END) == 0) {
		in->a_eof = 1;
		return armor_trailing(in);
	}
	if (n == 0)
		return api_error_set(API_EAGE_ARMOR, "armor: empty line");
	if (n > 64)
		return api_error_set(API_EAGE_ARMOR, "armor: line longer than 64 columns");
	if (!b64_chars(line, (size_t)n, 1) || sodium_base642bin(in->a_dec,
	    sizeof in->a_dec, line, (size_t)n, NULL, &dlen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return api_error_set(API_EAGE_ARMOR, "armor: invalid base64 line");
	in->a_pos = 0;
	in->a_len = dlen;
	if (dlen < 48) {
		/* a short line is the last one: the end line must follow */
		n = armor_line(in, line, ARMOR_LINE_MAX);
		if (n < -1)
			return (int)n;
		if (n == -1 || strcmp(line, ARMOR_END) != 0)
			in->a_err = api_error_set(API_EAGE_ARMOR,
			    "armor: a short line that is not followed by the end line");
		else
			in->a_err = armor_trailing(in);
		in->a_eof = 1;
	}
	return 0;
}

/* Up to len decoded bytes; fewer only at the end. */
static int
in_read(struct in *in, unsigned char *dst, size_t len, size_t *got)
{
	size_t n = 0;
	int rc;

	if (!in->armored)
		return raw_read(in, dst, len, got);
	while (n < len) {
		if (in->a_pos == in->a_len) {
			if (in->a_eof) {
				if (in->a_err)
					return in->a_err;
				break;
			}
			if ((rc = armor_next(in)) < 0)
				return rc;
			continue;
		}
		size_t c = in->a_len - in->a_pos < len - n ? in->a_len - in->a_pos :
		    len - n;
		memcpy(dst + n, in->a_dec + in->a_pos, c);
		in->a_pos += c;
		n += c;
	}
	*got = n;
	return 0;
}

/* Is the input armored?  Only "-----" after leading whitespace says so. */
static int
detect_armor(struct in *in, int *armored)
{
	size_t i = 0;
	int rc;

	for (;;) {
		if (i == in->len) {
			if (in->raw_eof || in->len == sizeof in->raw ||
			    i > ARMOR_MAX_WS)
				break;
			if ((rc = raw_fill(in)) < 0)
				return rc;
			continue;
		}
		if (!is_space(in->raw[i]))
			break;
		i++;
	}
	*armored = i < in->len && in->raw[i] == '-';
	return 0;
}

/* ---- header ------------------------------------------------------------ */

/*
 * Reads one header line, with its "\n", appended to h->text.  Raw input
 * is taken a whole line (or buffer) at a time from the read buffer;
 * armored input comes byte by byte out of the decoder, being rare.
 */
static int
header_line(struct in *in, struct header *h, size_t *off, size_t *len)
{
	const unsigned char *p, *nl = NULL;
	unsigned char c;
	size_t n;
	int rc;

	*off = h->text.len;
	while (nl == NULL) {
		if (in->armored) {
			if ((rc = in_read(in, &c, 1, &n)) < 0)
				return rc;
			p = &c;
		} else {
			if (in->pos == in->len && (rc = raw_fill(in)) < 0)
				return rc;
			p = in->raw + in->pos;
			n = in->len - in->pos;
		}
		if (n == 0)
			return api_error_set(API_EAGE_HEADER, h->text.len == 0 ?
			    "not an age file: it is empty" : "age header truncated");
		if ((nl = memchr(p, '\n', n)) != NULL)
			n = (size_t)(nl - p) + 1;
		if (n > API_AGE_MAX_HEADER - h->text.len)
			return api_error_set(API_EAGE_HEADER,
			    "age header larger than %d bytes", API_AGE_MAX_HEADER);
		if ((rc = api_buf_append(&h->text, p, n)) < 0)
			return rc;
		if (!in->armored)
			in->pos += n;
	}
	*len = h->text.len - *off - 1;
	return 0;
}

/* A header argument: one or more printable ASCII characters. */
static int
valid_arg(const char *s, size_t n)
{
	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 33 || s[i] > 126)
			return 0;
	return 1;
}

/* Canonical unpadded base64 without CR or LF; returns the length or -1. */
static long
b64_decode(unsigned char *out, size_t cap, const char *s, size_t n)
{
	size_t dlen;

	if (!b64_chars(s, n, 0) || sodium_base642bin(out, cap, s, n, NULL,
	    &dlen, NULL, sodium_base64_VARIANT_ORIGINAL_NO_PADDING) != 0)
		return -1;
	return (long)dlen;
}

static int
header_parse(struct in *in, struct header *h)
{
	size_t off, len;
	const char *line;
	int rc;

	if ((rc = header_line(in, h, &off, &len)) < 0)
		return rc;
	if (len != strlen(INTRO) || memcmp(h->text.ptr, INTRO, len) != 0)
		return api_error_set(API_EAGE_HEADER,
		    "not an age v1 file: the first line is not " INTRO);
	for (;;) {
		if ((rc = header_line(in, h, &off, &len)) < 0)
			return rc;
		line = (const char *)h->text.ptr + off;
		if (len >= 3 && memcmp(line, "---", 3) == 0) {
			long m;
			if (len < 4 || line[3] != ' ' ||
			    (m = b64_decode(h->mac, sizeof h->mac, line + 4,
			    len - 4)) != 32 || memchr(line + 4, ' ', len - 4))
				return api_error_set(API_EAGE_HEADER,
				    "age header: malformed MAC line");
			h->mac_off = off + 3;
			return 0;
		}
		if (len < 2 || memcmp(line, "->", 2) != 0)
			return api_error_set(API_EAGE_HEADER,
			    "age header: unexpected line");
		if (len < 3 || line[2] != ' ')
			return api_error_set(API_EAGE_HEADER,
			    "age header: malformed stanza line");
		/* arguments: single spaces between non-empty VCHAR strings */
		{
			size_t a = 3, i;
			for (i = 3; i <= len; i++) {
				if (i == len || line[i] == ' ') {
					if (!valid_arg(line + a, i - a))
						return api_error_set(API_EAGE_HEADER,
						    "age header: malformed stanza arguments");
					a = i + 1;
				}
			}
		}
		if (h->nst == h->capst) {
			size_t cap = h->capst ? h->capst * 2 : 8;
			struct stanza *n = realloc(h->st, cap * sizeof *n);
			if (n == NULL)
				return api_error_set(API_ENOMEM, "out of memory");
			h->st = n;
			h->capst = cap;
		}
		struct stanza *st = &h->st[h->nst++];
		st->args = h->args.len;
		if ((rc = api_buf_append(&h->args, line + 3, len - 3)) < 0 ||
		    (rc = api_buf_append(&h->args, "", 1)) < 0)
			return rc;
		st->body = h->bodies.len;
		/* body: full 64-column lines, then one shorter line */
		for (;;) {
			unsigned char b[49];
			long bl;
			if ((rc = header_line(in, h, &off, &len)) < 0)
				return rc;
			line = (const char *)h->text.ptr + off;
			if (len > 64 || (bl = b64_decode(b, sizeof b, line, len)) < 0)
				return api_error_set(API_EAGE_HEADER,
				    "age header: malformed stanza body");
			if ((rc = api_buf_append(&h->bodies, b, (size_t)bl)) < 0)
				return rc;
			if (bl < 48)
				break;
		}
		st->bodylen = h->bodies.len - st->body;
	}
}

/* The i-th argument of a stanza (0 is the type) into *a, *n. */
static int
stanza_arg(const struct header *h, const struct stanza *st, int i,
    const char **a, size_t *n)
{
	const char *s = (const char *)h->args.ptr + st->args;

	*a = "";
	*n = 0;
	for (; i > 0; i--) {
		s = strchr(s, ' ');
		if (s == NULL)
			return 0;
		s++;
	}
	*a = s;
	*n = strcspn(s, " ");
	return 1;
}

static int
stanza_nargs(const struct header *h, const struct stanza *st)
{
	const char *s = (const char *)h->args.ptr + st->args;
	int n = 1;

	for (; *s; s++)
		n += *s == ' ';
	return n;
}

static int
is_type(const struct header *h, const struct stanza *st, const char *type)
{
	const char *a;
	size_t n;

	stanza_arg(h, st, 0, &a, &n);
	return n == strlen(type) && memcmp(a, type, n) == 0;
}

/*
 * Opens a wrapped file key with key.  Returns 1 if it opened, 0 if the
 * key does not fit (another identity may), or an error.
 */
static int
unwrap(struct secrets *s, const struct header *h, const struct stanza *st,
    const char *what)
{
	static const unsigned char zero_nonce[12];
	unsigned long long n;

	if (st->bodylen != FILE_KEY + TAG)
		return api_error_set(API_EAGE_HEADER,
		    "age header: %s stanza with a wrapped key of wrong length", what);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(s->file_key, &n, NULL,
	    h->bodies.ptr + st->body, st->bodylen, NULL, 0, zero_nonce, s->key) != 0)
		return 0;
	return 1;
}

/* The wrap key of an X25519 stanza for x: HKDF over the share and the
 * recipient (x's public key). */
static void
x25519_wrap_key(struct secrets *s, const unsigned char share[32],
    const struct xkey *x)
{
	unsigned char salt[64];

	memcpy(salt, share, 32);
	memcpy(salt + 32, x->pk, 32);
	api_hkdf_sha256(s->key, 32, salt, sizeof salt, s->shared, 32,
	    (const unsigned char *)X25519_LABEL, strlen(X25519_LABEL));
}

static int
unwrap_x25519(struct secrets *s, const struct header *h,
    const struct stanza *st, struct xkey *x)
{
	unsigned char share[33], pk[32];
	const char *a;
	size_t n;
	long sl;
	int rc;

	if (stanza_nargs(h, st) != 2)
		return api_error_set(API_EAGE_HEADER,
		    "age header: X25519 stanza with wrong number of arguments");
	stanza_arg(h, st, 1, &a, &n);
	if ((sl = b64_decode(share, sizeof share, a, n)) != 32)
		return api_error_set(API_EAGE_HEADER,
		    "age header: malformed X25519 share");
	if (crypto_scalarmult(s->shared, x->sk, share) != 0)
		return api_error_set(API_EAGE_HEADER,
		    "age header: X25519 share is a low-order point");
	if (x->pk_is == 0) {
		if ((rc = api_age_public(x->pk, x->sk)) < 0)
			return rc;
		x->pk_is = API_AGE_PK_KNOWN;
	}
	x25519_wrap_key(s, share, x);
	if ((rc = unwrap(s, h, st, "X25519")) != 0 ||
	    x->pk_is != API_AGE_PK_HINT)
		return rc;
	/* the hint may be another key's: the wrap key again, with sk's own
	 * public key (the AEAD tag decides; no wrong key can pass it) */
	if ((rc = api_age_public(pk, x->sk)) < 0)
		return rc;
	x->pk_is = API_AGE_PK_KNOWN;
	if (sodium_memcmp(pk, x->pk, 32) == 0)
		return 0;
	memcpy(x->pk, pk, 32);
	x25519_wrap_key(s, share, x);
	return unwrap(s, h, st, "X25519");
}

static int
unwrap_scrypt(struct secrets *s, const struct header *h,
    const struct stanza *st, const api_age_keys *k)
{
	unsigned char salt[sizeof SCRYPT_LABEL - 1 + 17];
	const size_t ll = sizeof SCRYPT_LABEL - 1;
	const char *a;
	size_t n, i;
	int wf = 0;

	if (stanza_nargs(h, st) != 3)
		return api_error_set(API_EAGE_HEADER,
		    "age header: scrypt stanza with wrong number of arguments");
	stanza_arg(h, st, 1, &a, &n);
	memcpy(salt, SCRYPT_LABEL, ll);
	if (b64_decode(salt + ll, 17, a, n) != 16)
		return api_error_set(API_EAGE_HEADER,
		    "age header: malformed scrypt salt");
	stanza_arg(h, st, 2, &a, &n);
	/* a decimal without leading zero, sign or garbage */
	if (n == 0 || n > 2 || a[0] < '1' || a[0] > '9')
		return api_error_set(API_EAGE_HEADER,
		    "age header: malformed scrypt work factor");
	for (i = 0; i < n; i++) {
		if (a[i] < '0' || a[i] > '9')
			return api_error_set(API_EAGE_HEADER,
			    "age header: malformed scrypt work factor");
		wf = wf * 10 + (a[i] - '0');
	}
	if (wf > k->max_wf)
		return api_error_set(API_EAGE_HEADER,
		    "age header: scrypt work factor %d above the limit of %d",
		    wf, k->max_wf);
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)k->pass,
	    k->passlen, salt, ll + 16, (uint64_t)1 << wf, 8, 1, s->key, 32) != 0)
		return api_error_set(API_ENOMEM,
		    "scrypt failed (work factor %d): out of memory?", wf);
	return unwrap(s, h, st, "scrypt");
}

static int
find_file_key(api_age_keys *k, const struct header *h)
{
	size_t i, j;
	int rc;

	for (i = 0; i < h->nst; i++)
		if (is_type(h, &h->st[i], "scrypt") && h->nst != 1)
			return api_error_set(API_EAGE_HEADER,
			    "age header: an scrypt stanza must be the only one");
	for (j = 0; j < k->nx; j++)
		for (i = 0; i < h->nst; i++) {
			if (!is_type(h, &h->st[i], "X25519"))
				continue;
			if ((rc = unwrap_x25519(k->s, h, &h->st[i], &k->x[j])) != 0)
				return rc < 0 ? rc : 0;
		}
	if (k->pass != NULL)
		for (i = 0; i < h->nst; i++) {
			if (!is_type(h, &h->st[i], "scrypt"))
				continue;
			if ((rc = unwrap_scrypt(k->s, h, &h->st[i], k)) != 0)
				return rc < 0 ? rc : 0;
		}
	if (k->nx == 0 && k->pass == NULL)
		return api_error_set(API_EAGE_NOMATCH, "no identity given");
	for (i = 0; i < h->nst; i++)
		if (is_type(h, &h->st[i], "scrypt"))
			return api_error_set(API_EAGE_NOMATCH,
			    "wrong passphrase (or not encrypted with a passphrase)");
	return api_error_set(API_EAGE_NOMATCH,
	    "no identity matches any recipient of this file");
}

/* ---- decryption ---------------------------------------------------------- */

static void
nonce_next(unsigned char nonce[12])
{
	for (int i = 10; i >= 0; i--)
		if (++nonce[i] != 0)
			break;
}

/*
 * Decrypts the chunks into w.  *used grows to the largest plaintext
 * length any decryption attempt may have written into s->pt (a failed
 * one zeroes that much), so that the caller wipes only that part.
 */
static int
payload(api_age_keys *k, struct in *in, api_write_fn w, void *wctx,
    size_t *used)
{
	struct secrets *s = k->s;
	unsigned char nonce[12] = { 0 };
	unsigned long long ptlen;
	size_t got;
	int rc, last, first = 1;

	for (;;) {
		if ((rc = in_read(in, k->ct, ENC_CHUNK, &got)) < 0)
			return rc;
		last = got < ENC_CHUNK;
		if (got < TAG)
			return api_error_set(API_EAGE_PAYLOAD, first && got == 0 ?
			    "age payload: no chunks" : "age payload truncated");
		if (got - TAG > *used)
			*used = got - TAG;
		nonce[11] = (unsigned char)last;
		rc = crypto_aead_chacha20poly1305_ietf_decrypt(s->pt, &ptlen, NULL,
		    k->ct, got, NULL, 0, nonce, s->key);
		if (rc != 0 && !last) {
			/* a full chunk may be the last one */
			last = 1;
			nonce[11] = 1;
			rc = crypto_aead_chacha20poly1305_ietf_decrypt(s->pt, &ptlen,
			    NULL, k->ct, got, NULL, 0, nonce, s->key);
		}
		if (rc != 0)
			return api_error_set(API_EAGE_PAYLOAD,
			    "age payload: chunk %s is corrupt or truncated",
			    first ? "1" : "after the first");
		if (last && ptlen == 0 && !first)
			return api_error_set(API_EAGE_PAYLOAD,
			    "age payload: empty last chunk");
		if (ptlen > 0 && (rc = w(wctx, s->pt, (size_t)ptlen)) < 0)
			return rc;
		if (last) {
			unsigned char extra;
			if ((rc = in_read(in, &extra, 1, &got)) < 0)
				return rc;
			if (got)
				return api_error_set(API_EAGE_PAYLOAD,
				    "age payload: data after the last chunk");
			return 0;
		}
		nonce_next(nonce);
		first = 0;
	}
}

/*
 * The header MAC key: HKDF-SHA-256 of the file key, empty salt, info
 * "header", as api_hkdf_sha256 would give it.  The extract resumes from
 * k->hdr_extract instead of keying HMAC anew, two SHA-256 compressions
 * fewer per file; one output block, so the expand is a single HMAC.
 */
static void
header_mac_key(api_age_keys *k)
{
	static const unsigned char info[] = "header\001";
	crypto_auth_hmacsha256_state st = k->hdr_extract;
	unsigned char prk[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_update(&st, k->s->file_key, FILE_KEY);
	crypto_auth_hmacsha256_final(&st, prk);
	crypto_auth_hmacsha256(k->s->mac_key, info, sizeof info - 1, prk);
	sodium_memzero(prk, sizeof prk);
	sodium_memzero(&st, sizeof st);
}

int
api_age_decrypt(api_age_keys *k, api_read_fn r, void *rctx, api_write_fn w,
    void *wctx, int flags)
{
	struct header *h = &k->h;
	struct in *in = k->in;
	unsigned char nonce[16];
	unsigned char mac[32];
	size_t got, used = 0;
	int rc;

	in_reset(in, r, rctx);
	if (flags & API_AGE_ARMOR)
		in->armored = 1;
	else if (!(flags & API_AGE_BINARY) && (rc = detect_armor(in, &in->armored)) < 0)
		goto out;
	if ((rc = header_parse(in, h)) < 0)
		goto out;
	if ((rc = find_file_key(k, h)) < 0)
		goto out;
	header_mac_key(k);
	crypto_auth_hmacsha256(mac, h->text.ptr, h->mac_off, k->s->mac_key);
	if (crypto_verify_32(mac, h->mac) != 0) {
		rc = api_error_set(API_EAGE_HMAC,
		    "age header MAC does not verify: the header was altered");
		goto out;
	}
	if ((rc = in_read(in, nonce, sizeof nonce, &got)) < 0)
		goto out;
	if (got != sizeof nonce) {
		rc = api_error_set(API_EAGE_HEADER, "age file truncated: no payload nonce");
		goto out;
	}
	api_hkdf_sha256(k->s->key, 32, nonce, sizeof nonce, k->s->file_key,
	    FILE_KEY, (const unsigned char *)"payload", 7);
	rc = payload(k, in, w, wctx, &used);
out:
	/* the keys, and of the plaintext only what a chunk filled: wiping all
	 * 64 KiB would cost more than opening a small file */
	sodium_memzero(k->s, offsetof(struct secrets, pt) + used);
	header_reset(h);
	return rc;
}

int
api_age_header_check(const void *data, size_t len)
{
	api_mem m = { data, len, 0 };
	struct header h;
	struct in *in;
	int rc;

	memset(&h, 0, sizeof h);
	if ((in = malloc(sizeof *in)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	in_reset(in, api_mem_read, &m);
	if ((rc = header_parse(in, &h)) == 0) {
		/* what the header left: the nonce and at least one sealed chunk */
		size_t rest = in->len - in->pos + m.len - m.pos;
		if (h.nst == 0)
			rc = api_error_set(API_EAGE_HEADER,
			    "age header: no recipient stanza");
		else if (rest < 16 + TAG)
			rc = api_error_set(API_EAGE_HEADER, "age file: payload truncated");
	}
	header_free(&h);
	free(in);
	return rc;
}

int
api_age_decrypt_mem(api_age_keys *k, const void *ct, size_t ctlen,
    api_buf *plain, size_t max, int flags)
{
	api_mem m = { ct, ctlen, 0 };
	size_t saved = plain->max;
	int rc;

	if (plain->ptr == NULL)
		plain->secret = 1;
	else if (!plain->secret)
		return api_error_set(API_EINVAL, "plaintext must go to secret memory");
	plain->max = max;
	rc = api_age_decrypt(k, api_mem_read, &m, api_buf_write, plain, flags);
	plain->max = saved;
	return rc;
}

/* ---- encryption ---------------------------------------------------------- */

struct api_age_enc {
	api_write_fn w;
	void *wctx;
	int armor;
	int state;                   /* 0 open, 1 closed, -1 failed */
	struct secrets *s;
	size_t ptlen;
	unsigned char nonce[12];
	unsigned char *ct;
	unsigned char apend[48];     /* armor: bytes waiting for a full line */
	size_t napend;
};

static int
armor_emit(api_age_enc *e, const unsigned char *b, size_t n)
{
	char line[66];

	sodium_bin2base64(line, sizeof line, b, n, sodium_base64_VARIANT_ORIGINAL);
	size_t l = strlen(line);
	line[l++] = '\n';
	return e->w(e->wctx, (unsigned char *)line, l);
}

static int
out_write(api_age_enc *e, const unsigned char *b, size_t n)
{
	int rc;

	if (!e->armor)
		return e->w(e->wctx, b, n);
	while (n > 0) {
		size_t c = 48 - e->napend < n ? 48 - e->napend : n;
		memcpy(e->apend + e->napend, b, c);
		e->napend += c;
		b += c;
		n -= c;
		if (e->napend == 48) {
			if ((rc = armor_emit(e, e->apend, 48)) < 0)
				return rc;
			e->napend = 0;
		}
	}
	return 0;
}

static int
b64_line(api_buf *hdr, const unsigned char *b, size_t n)
{
	char s[80];

	sodium_bin2base64(s, sizeof s, b, n,
	    sodium_base64_VARIANT_ORIGINAL_NO_PADDING);
	return api_buf_append(hdr, s, strlen(s));
}

static int
wrap_key(api_buf *hdr, struct secrets *s)
{
	static const unsigned char zero_nonce[12];
	unsigned char body[FILE_KEY + TAG];
	int rc;

	crypto_aead_chacha20poly1305_ietf_encrypt(body, NULL, s->file_key,
	    FILE_KEY, NULL, 0, NULL, zero_nonce, s->key);
	if ((rc = api_buf_append(hdr, "\n", 1)) < 0 ||
	    (rc = b64_line(hdr, body, sizeof body)) < 0 ||
	    (rc = api_buf_append(hdr, "\n", 1)) < 0)
		return rc;
	return 0;
}

static int
enc_new(api_age_enc **out, api_write_fn w, void *wctx, int flags)
{
	api_age_enc *e;

	*out = NULL;
	if ((e = calloc(1, sizeof *e)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	e->s = api_secret_alloc(sizeof *e->s);
	e->ct = malloc(ENC_CHUNK);
	if (e->s == NULL || e->ct == NULL) {
		api_age_enc_free(e);
		return api_error_set(API_ENOMEM, "out of memory");
	}
	e->w = w;
	e->wctx = wctx;
	e->armor = (flags & API_AGE_ARMOR) != 0;
	randombytes_buf(e->s->file_key, FILE_KEY);
	*out = e;
	return API_OK;
}

/* Finishes the header (MAC), writes it and the payload nonce. */
static int
enc_start(api_age_enc *e, api_buf *hdr)
{
	unsigned char mac[32], nonce[16];
	int rc;

	if ((rc = api_buf_append(hdr, "---", 3)) < 0)
		return rc;
	api_hkdf_sha256(e->s->mac_key, 32, NULL, 0, e->s->file_key, FILE_KEY,
	    (const unsigned char *)"header", 6);
	crypto_auth_hmacsha256(mac, hdr->ptr, hdr->len, e->s->mac_key);
	if ((rc = api_buf_append(hdr, " ", 1)) < 0 ||
	    (rc = b64_line(hdr, mac, sizeof mac)) < 0 ||
	    (rc = api_buf_append(hdr, "\n", 1)) < 0)
		return rc;
	randombytes_buf(nonce, sizeof nonce);
	api_hkdf_sha256(e->s->key, 32, nonce, sizeof nonce, e->s->file_key,
	    FILE_KEY, (const unsigned char *)"payload", 7);
	if (e->armor && (rc = e->w(e->wctx, (const unsigned char *)ARMOR_BEGIN "\n",
	    sizeof ARMOR_BEGIN)) < 0)
		return rc;
	if ((rc = out_write(e, hdr->ptr, hdr->len)) < 0 ||
	    (rc = out_write(e, nonce, sizeof nonce)) < 0)
		return rc;
	return 0;
}

int
api_age_enc_new(api_age_enc **out, const unsigned char (*pks)[32], size_t n,
    api_write_fn w, void *wctx, int flags)
{
	api_buf hdr = { 0 };
	unsigned char esk[32], epk[32], salt[64];
	api_age_enc *e = NULL;
	size_t i;
	int rc;

	*out = NULL;
	if (n == 0)
		return api_error_set(API_EINVAL, "no recipient given");
	if ((rc = enc_new(&e, w, wctx, flags)) < 0)
		return rc;
	if ((rc = api_buf_append(&hdr, INTRO "\n", sizeof INTRO)) < 0)
		goto out;
	for (i = 0; i < n; i++) {
		api_age_keypair(epk, esk);
		if (crypto_scalarmult(e->s->shared, esk, pks[i]) != 0) {
			rc = api_error_set(API_EINVAL,
			    "recipient %zu is not a valid X25519 public key", i + 1);
			goto out;
		}
		memcpy(salt, epk, 32);
		memcpy(salt + 32, pks[i], 32);
		api_hkdf_sha256(e->s->key, 32, salt, sizeof salt, e->s->shared, 32,
		    (const unsigned char *)X25519_LABEL, strlen(X25519_LABEL));
		if ((rc = api_buf_append(&hdr, "-> X25519 ", 10)) < 0 ||
		    (rc = b64_line(&hdr, epk, 32)) < 0 ||
		    (rc = wrap_key(&hdr, e->s)) < 0)
			goto out;
	}
	rc = enc_start(e, &hdr);
out:
	sodium_memzero(esk, sizeof esk);
	api_buf_free(&hdr);
	if (rc < 0)
		api_age_enc_free(e);
	else
		*out = e;
	return rc;
}

int
api_age_enc_new_passphrase(api_age_enc **out, const char *pass, size_t len,
    int work_factor, api_write_fn w, void *wctx, int flags)
{
	api_buf hdr = { 0 };
	unsigned char salt[sizeof SCRYPT_LABEL - 1 + 16];
	const size_t ll = sizeof SCRYPT_LABEL - 1;
	char wf[8];
	api_age_enc *e = NULL;
	int rc;

	*out = NULL;
	if (work_factor == 0)
		work_factor = API_AGE_DEFAULT_WORK_FACTOR;
	if (work_factor < 1 || work_factor > API_AGE_MAX_WORK_FACTOR)
		return api_error_set(API_EINVAL, "scrypt work factor must be 1 to %d",
		    API_AGE_MAX_WORK_FACTOR);
	if ((rc = enc_new(&e, w, wctx, flags)) < 0)
		return rc;
	memcpy(salt, SCRYPT_LABEL, ll);
	randombytes_buf(salt + ll, 16);
	if (crypto_pwhash_scryptsalsa208sha256_ll((const uint8_t *)pass, len, salt,
	    sizeof salt, (uint64_t)1 << work_factor, 8, 1, e->s->key, 32) != 0) {
		rc = api_error_set(API_ENOMEM, "scrypt failed: out of memory?");
		goto out;
	}
	snprintf(wf, sizeof wf, " %d", work_factor);
	if ((rc = api_buf_append(&hdr, INTRO "\n-> scrypt ", sizeof INTRO + 10)) < 0 ||
	    (rc = b64_line(&hdr, salt + ll, 16)) < 0 ||
	    (rc = api_buf_append(&hdr, wf, strlen(wf))) < 0 ||
	    (rc = wrap_key(&hdr, e->s)) < 0)
		goto out;
	rc = enc_start(e, &hdr);
out:
	api_buf_free(&hdr);
	if (rc < 0)
		api_age_enc_free(e);
	else
		*out = e;
	return rc;
}

static int
enc_chunk(api_age_enc *e, int last)
{
	unsigned long long clen;

	e->nonce[11] = (unsigned char)last;
	crypto_aead_chacha20poly1305_ietf_encrypt(e->ct, &clen, e->s->pt,
	    e->ptlen, NULL, 0, NULL, e->nonce, e->s->key);
	nonce_next(e->nonce);
	e->ptlen = 0;
	return out_write(e, e->ct, (size_t)clen);
}

int
api_age_enc_write(api_age_enc *e, const void *data, size_t len)
{
	const unsigned char *p = data;
	int rc;

	if (e->state != 0)
		return api_error_set(API_EINVAL, "age: write after close or failure");
	while (len > 0) {
		/* a full chunk is sent only once more data shows it is not the last */
		if (e->ptlen == API_AGE_CHUNK) {
			if ((rc = enc_chunk(e, 0)) < 0) {
				e->state = -1;
				return rc;
			}
		}
		size_t c = API_AGE_CHUNK - e->ptlen < len ? API_AGE_CHUNK - e->ptlen : len;
		memcpy(e->s->pt + e->ptlen, p, c);
		e->ptlen += c;
		p += c;
		len -= c;
	}
	return 0;
}

int
api_age_enc_close(api_age_enc *e)
{
	static const char end[] = ARMOR_END "\n";
	int rc;

	if (e->state != 0)
		return api_error_set(API_EINVAL, "age: close after close or failure");
	e->state = -1;
	if ((rc = enc_chunk(e, 1)) < 0)
		return rc;
	if (e->armor) {
		if (e->napend > 0 && (rc = armor_emit(e, e->apend, e->napend)) < 0)
			return rc;
		if ((rc = e->w(e->wctx, (const unsigned char *)end,
		    sizeof end - 1)) < 0)
			return rc;
	}
	e->state = 1;
	return 0;
}

void
api_age_enc_free(api_age_enc *e)
{
	if (e == NULL)
		return;
	api_secret_free(e->s, sizeof *e->s);
	free(e->ct);
	sodium_memzero(e->apend, sizeof e->apend);
	free(e);
}

int
api_age_encrypt_mem(const unsigned char (*pks)[32], size_t n, const void *plain,
    size_t len, api_buf *out, int flags)
{
	api_age_enc *e;
	int rc;

	if ((rc = api_age_enc_new(&e, pks, n, api_buf_write, out, flags)) < 0)
		return rc;
	if ((rc = api_age_enc_write(e, plain, len)) == 0)
		rc = api_age_enc_close(e);
	api_age_enc_free(e);
	return rc;
}
