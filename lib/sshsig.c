/*
 * sshsig.c - SSH signatures (openssh PROTOCOL.sshsig) with Ed25519 keys,
 * as ssh-keygen -Y sign/verify and git's gpg.format=ssh use them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"

#define MAGIC "SSHSIG"
#define MAGIC_LEN 6
#define SIG_VERSION 1
#define KEYTYPE "ssh-ed25519"
#define KEYTYPE_LEN 11
#define BEGIN "-----BEGIN SSH SIGNATURE-----"
#define END "-----END SSH SIGNATURE-----"
#define WRAP 70
/* string(KEYTYPE) string(pk): the SSH wire form of a public key */
#define PKBLOB_LEN (4 + KEYTYPE_LEN + 4 + API_ED25519_PK)
/* A real Ed25519 signature is a few hundred bytes; this only bounds work. */
#define MAX_ARMOR (64 * 1024)

/* --- wire encoding ------------------------------------------------------ */

static void
u32_be(unsigned char out[4], size_t v)
{
	out[0] = (unsigned char)(v >> 24);
	out[1] = (unsigned char)(v >> 16);
	out[2] = (unsigned char)(v >> 8);
	out[3] = (unsigned char)v;
}

static int
put_string(api_buf *b, const void *data, size_t len)
{
	unsigned char n[4];
	int rc;

	if (len > UINT32_MAX)
		return api_error_set(API_EINVAL, "SSH string too long");
	u32_be(n, len);
	if ((rc = api_buf_append(b, n, 4)) < 0)
		return rc;
	return api_buf_append(b, data, len);
}

static void
pkblob(unsigned char out[PKBLOB_LEN], const unsigned char pk[32])
{
	u32_be(out, KEYTYPE_LEN);
	memcpy(out + 4, KEYTYPE, KEYTYPE_LEN);
	u32_be(out + 4 + KEYTYPE_LEN, API_ED25519_PK);
	memcpy(out + 8 + KEYTYPE_LEN, pk, API_ED25519_PK);
}

/* A cursor over a wire blob; every read is bounds-checked. */
typedef struct rd {
	const unsigned char *p;
	size_t len, pos;
} rd;

static int
get_u32(rd *r, uint32_t *v)
{
	const unsigned char *p;

	if (r->len - r->pos < 4)
		return -1;
	p = r->p + r->pos;
	*v = (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	    (uint32_t)p[2] << 8 | (uint32_t)p[3];
	r->pos += 4;
	return 0;
}

static int
get_string(rd *r, const unsigned char **s, size_t *slen)
{
	uint32_t n;

	if (get_u32(r, &n) < 0 || n > r->len - r->pos)
		return -1;
	*s = r->p + r->pos;
	*slen = n;
	r->pos += n;
	return 0;
}

static int
str_is(const unsigned char *s, size_t slen, const char *lit)
{
	return slen == strlen(lit) && memcmp(s, lit, slen) == 0;
}

/*
 * Parses string(KEYTYPE) string(outlen bytes) filling the whole blob.
 * Returns NULL, or what is wrong with it.
 */
static const char *
parse_ed25519(const unsigned char *blob, size_t len, unsigned char out[],
    size_t outlen)
{
	const unsigned char *type, *val;
	size_t tlen, vlen;
	rd r = { blob, len, 0 };

	if (get_string(&r, &type, &tlen) < 0)
		return "truncated";
	if (!str_is(type, tlen, KEYTYPE))
		return "not of type " KEYTYPE;
	if (get_string(&r, &val, &vlen) < 0)
		return "truncated";
	if (vlen != outlen)
		return "of the wrong length";
	if (r.pos != r.len)
		return "followed by trailing data";
	memcpy(out, val, outlen);
	return NULL;
}

/* --- public keys -------------------------------------------------------- */

int
api_ssh_pubkey_encode(char *out, const unsigned char pk[32])
{
	unsigned char blob[PKBLOB_LEN];

	pkblob(blob, pk);
	memcpy(out, KEYTYPE " ", KEYTYPE_LEN + 1);
	sodium_bin2base64(out + KEYTYPE_LEN + 1,
	    API_SSH_PUBKEY_LEN + 1 - (KEYTYPE_LEN + 1), blob, sizeof blob,
	    sodium_base64_VARIANT_ORIGINAL);
	return API_OK;
}

static int
is_blank(int c)
{
	return c == ' ' || c == '\t';
}

int
api_ssh_pubkey_parse(unsigned char pk[32], const char *s)
{
	unsigned char blob[PKBLOB_LEN + 3];
	const char *b64, *why;
	size_t blen = 0, tlen, n;

	while (is_blank(*s))
		s++;
	for (tlen = 0; s[tlen] && !is_blank(s[tlen]) && s[tlen] != '\n' &&
	    s[tlen] != '\r'; tlen++)
		;
	if (tlen != KEYTYPE_LEN || memcmp(s, KEYTYPE, KEYTYPE_LEN) != 0)
		return api_error_set(API_EINVAL,
		    "not an %s public key: type \"%.*s\"", KEYTYPE,
		    tlen > 32 ? 32 : (int)tlen, s);
	b64 = s + tlen;
	if (!is_blank(*b64))
		return api_error_set(API_EINVAL, "%s public key: no key after the type",
		    KEYTYPE);
	while (is_blank(*b64))
		b64++;
	/* the base64 ends at a blank (a comment follows) or at the line end */
	n = strcspn(b64, " \t\r\n");
	if (n == 0)
		return api_error_set(API_EINVAL, "%s public key: no key after the type",
		    KEYTYPE);
	if (sodium_base642bin(blob, sizeof blob, b64, n, NULL, &blen, NULL,
	    sodium_base64_VARIANT_ORIGINAL) != 0)
		return api_error_set(API_EINVAL, "%s public key: bad base64 (or not "
		    "%d bytes)", KEYTYPE, PKBLOB_LEN);
	if ((why = parse_ed25519(blob, blen, pk, API_ED25519_PK)) != NULL)
		return api_error_set(API_EINVAL, "%s public key: key blob %s",
		    KEYTYPE, why);
	return API_OK;
}

/* --- signatures --------------------------------------------------------- */

/*
 * The data the Ed25519 key signs: MAGIC string(ns) string("")
 * string(hashalg) string(H(msg)).  The reserved field is empty here even
 * when a blob carries one, as openssh does: it "should be ignored".
 */
static int
signed_data(api_buf *td, const char *ns, size_t nslen, const char *hashalg,
    const void *msg, size_t len)
{
	unsigned char h[crypto_hash_sha512_BYTES];
	size_t hlen;
	int rc;

	if (msg == NULL)
		msg = "";
	if (strcmp(hashalg, "sha512") == 0) {
		crypto_hash_sha512(h, msg, len);
		hlen = crypto_hash_sha512_BYTES;
	} else {
		crypto_hash_sha256(h, msg, len);
		hlen = crypto_hash_sha256_BYTES;
	}
	if ((rc = api_buf_append(td, MAGIC, MAGIC_LEN)) < 0 ||
	    (rc = put_string(td, ns, nslen)) < 0 ||
	    (rc = put_string(td, "", 0)) < 0 ||
	    (rc = put_string(td, hashalg, strlen(hashalg))) < 0 ||
	    (rc = put_string(td, h, hlen)) < 0)
		return rc;
	return API_OK;
}

int
api_sshsig_sign(api_buf *out, const unsigned char sk[64], const char *ns,
    const void *msg, size_t len)
{
	unsigned char pk[API_ED25519_PK], blob_pk[PKBLOB_LEN];
	unsigned char sigblob[4 + KEYTYPE_LEN + 4 + crypto_sign_BYTES];
	unsigned char ver[4], *derived_sk = NULL;
	api_buf td = { 0 }, blob = { 0 };
	char *b64 = NULL;
	size_t oldlen = out->len, b64len, i, n;
	int rc;

	if (ns == NULL || *ns == '\0') {
		rc = api_error_set(API_EINVAL, "SSH signature: empty namespace");
		goto out;
	}
	/*
	 * libsodium signs with the pk half of sk as it stands; a key whose
	 * halves disagree would make signatures nobody can verify.
	 */
	derived_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (derived_sk == NULL) {
		rc = api_error_set(API_ENOMEM, "out of secure memory");
		goto out;
	}
	crypto_sign_seed_keypair(pk, derived_sk, sk);
	if (sodium_memcmp(pk, sk + 32, API_ED25519_PK) != 0) {
		rc = api_error_set(API_EINVAL,
		    "Ed25519 secret key: public half does not match the seed");
		goto out;
	}
	if ((rc = signed_data(&td, ns, strlen(ns), "sha512", msg, len)) < 0)
		goto out;
	u32_be(sigblob, KEYTYPE_LEN);
	memcpy(sigblob + 4, KEYTYPE, KEYTYPE_LEN);
	u32_be(sigblob + 4 + KEYTYPE_LEN, crypto_sign_BYTES);
	crypto_sign_detached(sigblob + 8 + KEYTYPE_LEN, NULL, td.ptr, td.len, sk);

	pkblob(blob_pk, pk);
	u32_be(ver, SIG_VERSION);
	if ((rc = api_buf_append(&blob, MAGIC, MAGIC_LEN)) < 0 ||
	    (rc = api_buf_append(&blob, ver, 4)) < 0 ||
	    (rc = put_string(&blob, blob_pk, sizeof blob_pk)) < 0 ||
	    (rc = put_string(&blob, ns, strlen(ns))) < 0 ||
	    (rc = put_string(&blob, "", 0)) < 0 ||
	    (rc = put_string(&blob, "sha512", 6)) < 0 ||
	    (rc = put_string(&blob, sigblob, sizeof sigblob)) < 0)
		goto out;

	b64len = sodium_base64_ENCODED_LEN(blob.len, sodium_base64_VARIANT_ORIGINAL);
	if ((b64 = malloc(b64len)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	sodium_bin2base64(b64, b64len, blob.ptr, blob.len,
	    sodium_base64_VARIANT_ORIGINAL);
	b64len = strlen(b64);
	if ((rc = api_buf_append(out, BEGIN "\n", sizeof BEGIN)) < 0)
		goto out;
	for (i = 0; i < b64len; i += n) {
		n = b64len - i < WRAP ? b64len - i : WRAP;
		if ((rc = api_buf_append(out, b64 + i, n)) < 0 ||
		    (rc = api_buf_append(out, "\n", 1)) < 0)
			goto out;
	}
	rc = api_buf_append(out, END "\n", sizeof END);
out:
	if (rc < 0 && out->ptr != NULL) {
		/* leave out as it was: no half signature */
		out->len = oldlen;
		out->ptr[oldlen] = '\0';
	}
	sodium_free(derived_sk);
	api_buf_free(&td);
	api_buf_free(&blob);
	free(b64);
	return rc;
}

static int
is_space(int c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/*
 * The base64 body of an armored signature: after optional whitespace, a
 * BEGIN line, the body, END at the start of a line, then only whitespace.
 * CRLF line ends are accepted, as a signature may pass through Windows.
 */
static int
dearmor(const char *a, size_t alen, const char **body, size_t *blen)
{
	size_t i = 0, b, e;
	const size_t endlen = sizeof END - 1;

	while (i < alen && is_space((unsigned char)a[i]))
		i++;
	if (alen - i < sizeof BEGIN - 1 || memcmp(a + i, BEGIN, sizeof BEGIN - 1) != 0)
		return api_error_set(API_ESIG_FORMAT,
		    "SSH signature: missing \"%s\" header", BEGIN);
	i += sizeof BEGIN - 1;
	if (i < alen && a[i] == '\r')
		i++;
	if (i >= alen || a[i] != '\n')
		return api_error_set(API_ESIG_FORMAT,
		    "SSH signature: header line does not end after \"%s\"", BEGIN);
	b = ++i;
	for (e = b; e < alen; e++) {
		if ((e == b || a[e - 1] == '\n') && alen - e >= endlen &&
		    memcmp(a + e, END, endlen) == 0)
			break;
	}
	if (e >= alen)
		return api_error_set(API_ESIG_FORMAT,
		    "SSH signature: missing \"%s\" footer", END);
	for (i = e + endlen; i < alen; i++)
		if (!is_space((unsigned char)a[i]))
			return api_error_set(API_ESIG_FORMAT,
			    "SSH signature: data after the footer");
	*body = a + b;
	*blen = e - b;
	return API_OK;
}

/* s as a printable string for a message: short, control bytes as '?' */
static void
printable(char *out, size_t outlen, const unsigned char *s, size_t slen)
{
	size_t i;

	if (slen > outlen - 1)
		slen = outlen - 1;
	for (i = 0; i < slen; i++)
		out[i] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
	out[slen] = '\0';
}

int
api_sshsig_verify(unsigned char pk[32], const char *armored, size_t alen,
    const char *ns, const void *msg, size_t len)
{
	const unsigned char *f_pk = NULL, *f_ns = NULL, *f_res = NULL;
	const unsigned char *f_hash = NULL, *f_sig = NULL;
	size_t l_pk = 0, l_ns = 0, l_res = 0, l_hash = 0, l_sig = 0;
	size_t blen = 0, binlen = 0;
	unsigned char key[API_ED25519_PK], sig[crypto_sign_BYTES];
	unsigned char *bin = NULL;
	api_buf td = { 0 };
	const char *body = NULL, *why;
	char shown[65];
	uint32_t version;
	rd r;
	int rc;

	if (ns == NULL || *ns == '\0') {
		rc = api_error_set(API_EINVAL, "SSH signature: empty namespace");
		goto out;
	}
	if (alen > MAX_ARMOR) {
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: longer than %d bytes", MAX_ARMOR);
		goto out;
	}
	if ((rc = dearmor(armored, alen, &body, &blen)) < 0)
		goto out;
	if ((bin = malloc(blen + 1)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	/* padding is required and stray bits must be zero: one blob, one text */
	if (sodium_base642bin(bin, blen + 1, body, blen, " \t\r\n", &binlen,
	    NULL, sodium_base64_VARIANT_ORIGINAL) != 0) {
		rc = api_error_set(API_ESIG_FORMAT, "SSH signature: bad base64");
		goto out;
	}

	r.p = bin;
	r.len = binlen;
	r.pos = 0;
	if (binlen < MAGIC_LEN || memcmp(bin, MAGIC, MAGIC_LEN) != 0) {
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: blob does not start with \"%s\"", MAGIC);
		goto out;
	}
	r.pos = MAGIC_LEN;
	if (get_u32(&r, &version) < 0) {
		rc = api_error_set(API_ESIG_FORMAT, "SSH signature: truncated blob");
		goto out;
	}
	if (version != SIG_VERSION) {
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: unsupported version %lu",
		    (unsigned long)version);
		goto out;
	}
	if (get_string(&r, &f_pk, &l_pk) < 0 ||
	    get_string(&r, &f_ns, &l_ns) < 0 ||
	    get_string(&r, &f_res, &l_res) < 0 ||
	    get_string(&r, &f_hash, &l_hash) < 0 ||
	    get_string(&r, &f_sig, &l_sig) < 0) {
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: truncated blob or bad length");
		goto out;
	}
	if (r.pos != r.len) {
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: %zu bytes of trailing data in the blob",
		    r.len - r.pos);
		goto out;
	}
	(void)f_res; (void)l_res;  /* reserved: ignored, as the spec says */
	if ((why = parse_ed25519(f_pk, l_pk, key, sizeof key)) != NULL) {
		rc = api_error_set(API_ESIG_FORMAT, "SSH signature: public key %s",
		    why);
		goto out;
	}
	if (l_ns == 0) {
		rc = api_error_set(API_ESIG_FORMAT, "SSH signature: empty namespace");
		goto out;
	}
	if (!str_is(f_hash, l_hash, "sha512") && !str_is(f_hash, l_hash, "sha256")) {
		printable(shown, sizeof shown, f_hash, l_hash);
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: unsupported hash algorithm \"%s\"", shown);
		goto out;
	}
	if ((why = parse_ed25519(f_sig, l_sig, sig, sizeof sig)) != NULL) {
		rc = api_error_set(API_ESIG_FORMAT,
		    "SSH signature: signature blob %s", why);
		goto out;
	}

	if (!str_is(f_ns, l_ns, ns)) {
		printable(shown, sizeof shown, f_ns, l_ns);
		rc = api_error_set(API_ESIG,
		    "SSH signature: namespace is \"%s\", expected \"%s\"", shown, ns);
		goto out;
	}
	if ((rc = signed_data(&td, ns, strlen(ns),
	    str_is(f_hash, l_hash, "sha512") ? "sha512" : "sha256", msg, len)) < 0)
		goto out;
	if (crypto_sign_verify_detached(sig, td.ptr, td.len, key) != 0) {
		rc = api_error_set(API_ESIG,
		    "SSH signature does not verify: data or signature altered");
		goto out;
	}
	if (pk != NULL)
		memcpy(pk, key, sizeof key);
	rc = API_OK;
out:
	free(bin);
	api_buf_free(&td);
	return rc;
}
