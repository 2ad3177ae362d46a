/* test-sshsig.c - SSH signatures: lib/sshsig.c against ssh-keygen vectors
 * and hand-built malformed blobs. */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"
#include "tap.h"

/*
 * A key made by ssh-keygen -t ed25519 (OpenSSH 9.2), and its signatures
 * of "hello\n" in namespace "git": ssh-keygen -Y sign -n git, and the
 * same with -O hashalg=sha256.
 */
static const char kat_seed[] =
    "2634436304cbea78073566132460917c59f97fdcd43feb9275ee52eaae933a82";
static const char kat_pub[] =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0m";
static const char kat_sig512[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgF0GZwA7jP/0phQYNB0cVrHqDR6\n"
    "ZcqlLEne4DiRl2jSYAAAADZ2l0AAAAAAAAAAZzaGE1MTIAAABTAAAAC3NzaC1lZDI1NTE5\n"
    "AAAAQIIPZFAVC5ERW5S7VKZEIIzBjdq5v8j8B5xFVKQCHosqWGjJ2LzNPjMd9laEThsUad\n"
    "sENO2J7tUrst4BE1DhCwc=\n"
    "-----END SSH SIGNATURE-----\n";
static const char kat_sig256[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgF0GZwA7jP/0phQYNB0cVrHqDR6\n"
    "ZcqlLEne4DiRl2jSYAAAADZ2l0AAAAAAAAAAZzaGEyNTYAAABTAAAAC3NzaC1lZDI1NTE5\n"
    "AAAAQByweCm3/JWXd5pg29j3dCisYAP+a+/xIKetd9B54tsYXSMtQOdpbNW6QgbSnJrsPL\n"
    "2UMzx4f4sffMthOZLkEA4=\n"
    "-----END SSH SIGNATURE-----\n";
/*
 * The example of PROTOCOL.sshsig (rev 1.4): namespace "foo", but no
 * hash_algorithm field (it predates it), so ssh-keygen refuses it too.
 */
static const char spec_example[] =
    "-----BEGIN SSH SIGNATURE-----\n"
    "U1NIU0lHAAAAAQAAADMAAAALc3NoLWVkMjU1MTkAAAAgJKxoLBJBivUPNTUJUSslQTt2hD\n"
    "jozKvHarKeN8uYFqgAAAADZm9vAAAAAAAAAFMAAAALc3NoLWVkMjU1MTkAAABAKNC4IEbt\n"
    "Tq0Fb56xhtuE1/lK9H9RZJfON4o6hE9R4ZGFX98gy0+fFJ/1d2/RxnZky0Y7GojwrZkrHT\n"
    "FgCqVWAQ==\n"
    "-----END SSH SIGNATURE-----\n";

static const char hello[] = "hello\n";

/* --- helpers -------------------------------------------------------------- */

static int
verify_str(unsigned char pk[32], const char *armored, const char *ns,
    const char *msg)
{
	return api_sshsig_verify(pk, armored, strlen(armored), ns, msg,
	    strlen(msg));
}

/* The last error is one non-empty line. */
static int
one_line_error(void)
{
	const char *e = api_error_last();

	return *e != '\0' && strchr(e, '\n') == NULL;
}

static void
put32(api_buf *b, uint32_t v)
{
	unsigned char n[4] = { (unsigned char)(v >> 24), (unsigned char)(v >> 16),
	    (unsigned char)(v >> 8), (unsigned char)v };

	api_buf_append(b, n, 4);
}

static void
putstr(api_buf *b, const void *s, size_t len)
{
	put32(b, (uint32_t)len);
	api_buf_append(b, s, len);
}

static void
putcstr(api_buf *b, const char *s)
{
	putstr(b, s, strlen(s));
}

/* Armors a blob as ssh-keygen does, at width columns, with eol line ends. */
static char *
armor(const unsigned char *blob, size_t len, size_t width, const char *eol)
{
	size_t b64max = sodium_base64_ENCODED_LEN(len, sodium_base64_VARIANT_ORIGINAL);
	char *b64 = malloc(b64max);
	api_buf out = { 0 };
	size_t i, n, b64len;
	char *s;

	sodium_bin2base64(b64, b64max, blob, len, sodium_base64_VARIANT_ORIGINAL);
	b64len = strlen(b64);
	api_buf_append(&out, "-----BEGIN SSH SIGNATURE-----", 29);
	api_buf_append(&out, eol, strlen(eol));
	for (i = 0; i < b64len; i += n) {
		n = b64len - i < width ? b64len - i : width;
		api_buf_append(&out, b64 + i, n);
		api_buf_append(&out, eol, strlen(eol));
	}
	api_buf_append(&out, "-----END SSH SIGNATURE-----", 27);
	api_buf_append(&out, eol, strlen(eol));
	free(b64);
	s = (char *)out.ptr;   /* NUL-terminated by api_buf */
	return s;
}

/*
 * A blob built field by field, signed properly over what it claims, so
 * that a test that changes one field fails for that field alone.
 */
typedef struct blobspec {
	const char *magic;
	uint32_t version;
	const char *ktype;
	size_t pklen;
	const char *ns;
	const char *reserved;
	const char *hash;
	const char *stype;
	size_t siglen;
	const char *trailing;
	int huge_ns_len;        /* namespace length field 0xffffffff */
	int sig_trailing;       /* a byte after the signature inside its string */
} blobspec;

static blobspec
good_spec(void)
{
	blobspec s = { "SSHSIG", 1, "ssh-ed25519", 32, "git", "", "sha512",
	    "ssh-ed25519", 64, "", 0, 0 };

	return s;
}

static char *
build(const blobspec *s, const unsigned char sk[64], const char *msg)
{
	unsigned char h[64], sig[80] = { 0 }, pkpad[40] = { 0 };
	api_buf td = { 0 }, pkb = { 0 }, sigb = { 0 }, blob = { 0 };
	char *a;

	if (strcmp(s->hash, "sha256") == 0) {
		crypto_hash_sha256(h, (const unsigned char *)msg, strlen(msg));
	} else {
		crypto_hash_sha512(h, (const unsigned char *)msg, strlen(msg));
	}
	api_buf_append(&td, "SSHSIG", 6);
	putcstr(&td, s->ns);
	putcstr(&td, "");
	putcstr(&td, s->hash);
	putstr(&td, h, strcmp(s->hash, "sha256") == 0 ? 32 : 64);
	crypto_sign_detached(sig, NULL, td.ptr, td.len, sk);

	memcpy(pkpad, sk + 32, 32);
	putcstr(&pkb, s->ktype);
	putstr(&pkb, pkpad, s->pklen);
	putcstr(&sigb, s->stype);
	putstr(&sigb, sig, s->siglen);
	if (s->sig_trailing)
		api_buf_append(&sigb, "x", 1);

	api_buf_append(&blob, s->magic, strlen(s->magic));
	put32(&blob, s->version);
	putstr(&blob, pkb.ptr, pkb.len);
	if (s->huge_ns_len) {
		put32(&blob, 0xffffffffu);
		api_buf_append(&blob, s->ns, strlen(s->ns));
	} else {
		putcstr(&blob, s->ns);
	}
	putcstr(&blob, s->reserved);
	putcstr(&blob, s->hash);
	putstr(&blob, sigb.ptr, sigb.len);
	api_buf_append(&blob, s->trailing, strlen(s->trailing));
	a = armor(blob.ptr, blob.len, 70, "\n");
	api_buf_free(&td);
	api_buf_free(&pkb);
	api_buf_free(&sigb);
	api_buf_free(&blob);
	return a;
}

/* Verifies a built blob of "hello\n" for "git" and checks the result. */
static void
check_spec(const blobspec *s, const unsigned char sk[64], int want,
    const char *what)
{
	char *a = build(s, sk, hello);
	int rc = verify_str(NULL, a, "git", hello);

	tap_ok(rc == want, "%s: %d%s%s%s", what, rc, rc < 0 ? " (" : "",
	    rc < 0 ? api_error_last() : "", rc < 0 ? ")" : "");
	free(a);
}

/* --- tests ---------------------------------------------------------------- */

static void
test_pubkey(const unsigned char kat_sk[64])
{
	char line[API_SSH_PUBKEY_LEN + 1], buf[256];
	unsigned char pk[32], pk2[32];
	int rc;

	api_ssh_pubkey_encode(line, kat_sk + 32);
	tap_ok(strcmp(line, kat_pub) == 0 && strlen(line) == API_SSH_PUBKEY_LEN,
	    "pubkey encode matches ssh-keygen: %s", line);
	rc = api_ssh_pubkey_parse(pk, kat_pub);
	tap_ok(rc == 0 && memcmp(pk, kat_sk + 32, 32) == 0,
	    "pubkey parse of ssh-keygen's line");

	randombytes_buf(pk, sizeof pk);
	api_ssh_pubkey_encode(line, pk);
	rc = api_ssh_pubkey_parse(pk2, line);
	tap_ok(rc == 0 && memcmp(pk, pk2, 32) == 0, "pubkey round trip");

	snprintf(buf, sizeof buf, "  %s alice@example.org\n", kat_pub);
	memset(pk, 0, sizeof pk);
	rc = api_ssh_pubkey_parse(pk, buf);
	tap_ok(rc == 0 && memcmp(pk, kat_sk + 32, 32) == 0,
	    "pubkey parse with a comment and a newline");
	snprintf(buf, sizeof buf, "ssh-ed25519\t%s\r\n", kat_pub + 12);
	rc = api_ssh_pubkey_parse(pk, buf);
	tap_ok(rc == 0 && memcmp(pk, kat_sk + 32, 32) == 0,
	    "pubkey parse with a tab and CRLF");

	{
		static const struct { const char *s, *what; } bad[] = {
			{ "", "empty" },
			{ "garbage", "garbage" },
			{ "ssh-ed25519", "type only" },
			{ "ssh-ed25519 ", "type and blank" },
			{ "ssh-ed25519AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0m",
			    "no blank after the type" },
			{ "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0m",
			    "text type ssh-rsa" },
			{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0",
			    "truncated base64" },
			{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0!",
			    "bad base64 character" },
			{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZ",
			    "blob 3 bytes short" },
			/* blob: string("ssh-rsa") string(32 bytes) */
			{ "ssh-ed25519 AAAAB3NzaC1yc2EAAAAgF0GZwA7jP/0phQYNB0cVrHqDR6ZcqlLEne4DiRl2jSY=",
			    "blob of type ssh-rsa" },
			/* blob: string("ssh-ed25519") string(33 bytes) */
			{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIRdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0mAA==",
			    "blob with a 33-byte key" },
			/* blob: the good one and a byte */
			{ "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBdBmcAO4z/9KYUGDQdHFax6g0emXKpSxJ3uA4kZdo0mAA==",
			    "blob with trailing data" },
		};
		size_t i;

		for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
			rc = api_ssh_pubkey_parse(pk, bad[i].s);
			tap_ok(rc == API_EINVAL && one_line_error(),
			    "pubkey parse rejects %s: %s", bad[i].what,
			    api_error_last());
		}
	}
}

static void
test_kat(const unsigned char kat_sk[64])
{
	api_buf out = { 0 };
	unsigned char pk[32];
	int rc;

	rc = api_sshsig_sign(&out, kat_sk, "git", hello, strlen(hello));
	tap_ok(rc == 0 && out.len == strlen(kat_sig512) &&
	    memcmp(out.ptr, kat_sig512, out.len) == 0,
	    "sign is byte-identical to ssh-keygen -Y sign");
	memset(pk, 0, sizeof pk);
	rc = verify_str(pk, kat_sig512, "git", hello);
	tap_ok(rc == 0 && memcmp(pk, kat_sk + 32, 32) == 0,
	    "verify ssh-keygen's sha512 signature: %d", rc);
	memset(pk, 0, sizeof pk);
	rc = verify_str(pk, kat_sig256, "git", hello);
	tap_ok(rc == 0 && memcmp(pk, kat_sk + 32, 32) == 0,
	    "verify ssh-keygen's sha256 signature: %d", rc);
	rc = verify_str(pk, kat_sig256, "git", "hello\n\n");
	tap_ok(rc == API_ESIG, "sha256 signature over other data: API_ESIG");
	rc = verify_str(NULL, spec_example, "foo", hello);
	tap_ok(rc == API_ESIG_FORMAT,
	    "PROTOCOL.sshsig example lacks hash_algorithm: %d (%s)", rc,
	    api_error_last());
	api_buf_free(&out);
}

static void
test_roundtrip(void)
{
	unsigned char pk_a[32], sk_a[64], pk_b[32], sk_b[64], pk[32];
	api_buf sig = { 0 }, sig_b = { 0 }, empty = { 0 };
	const char *msg = "case 2024-001: the record\n";
	size_t i, line, lines = 0;
	int rc, widths_ok = 1;
	char *crlf, *p;

	crypto_sign_keypair(pk_a, sk_a);
	crypto_sign_keypair(pk_b, sk_b);

	rc = api_sshsig_sign(&sig, sk_a, "git", msg, strlen(msg));
	tap_ok(rc == 0, "sign");
	memset(pk, 0, sizeof pk);
	rc = api_sshsig_verify(pk, (char *)sig.ptr, sig.len, "git", msg,
	    strlen(msg));
	tap_ok(rc == 0 && memcmp(pk, pk_a, 32) == 0,
	    "verify round trip reports the signer");

	/* armor: header, lines of exactly 70 but the last, footer */
	p = (char *)sig.ptr;
	tap_ok(strncmp(p, "-----BEGIN SSH SIGNATURE-----\n", 30) == 0 &&
	    sig.len > 28 &&
	    strcmp(p + sig.len - 28, "-----END SSH SIGNATURE-----\n") == 0,
	    "armor header and footer, final newline");
	p += 30;
	while (strncmp(p, "-----END", 8) != 0) {
		line = strcspn(p, "\n");
		lines++;
		if (line > 70 || (line < 70 && strncmp(p + line + 1, "-----END", 8) != 0))
			widths_ok = 0;
		p += line + 1;
	}
	tap_ok(widths_ok && lines == 4, "armor wraps at 70 columns (%zu lines)",
	    lines);

	rc = api_sshsig_verify(pk, (char *)sig.ptr, sig.len, "git",
	    "case 2024-001: the recorD\n", strlen(msg));
	tap_ok(rc == API_ESIG && one_line_error(), "tampered message: API_ESIG (%s)",
	    api_error_last());
	rc = api_sshsig_verify(pk, (char *)sig.ptr, sig.len, "git", msg,
	    strlen(msg) - 1);
	tap_ok(rc == API_ESIG, "truncated message: API_ESIG");
	rc = api_sshsig_verify(pk, (char *)sig.ptr, sig.len, "file", msg,
	    strlen(msg));
	tap_ok(rc == API_ESIG && one_line_error() &&
	    strstr(api_error_last(), "namespace") != NULL,
	    "wrong namespace: API_ESIG, says so (%s)", api_error_last());
	rc = api_sshsig_verify(pk, (char *)sig.ptr, sig.len, "gi", msg,
	    strlen(msg));
	tap_ok(rc == API_ESIG, "namespace prefix: API_ESIG");

	/* a key other than the expected one: verify succeeds, reports it */
	rc = api_sshsig_sign(&sig_b, sk_b, "git", msg, strlen(msg));
	memset(pk, 0, sizeof pk);
	rc = rc < 0 ? rc : api_sshsig_verify(pk, (char *)sig_b.ptr, sig_b.len,
	    "git", msg, strlen(msg));
	tap_ok(rc == 0 && memcmp(pk, pk_b, 32) == 0 && memcmp(pk, pk_a, 32) != 0,
	    "another key's signature verifies and reports that other key");

	/* a flipped bit in the Ed25519 signature (last full base64 line) */
	p = strstr((char *)sig.ptr, "\n-----END") - 5;
	{
		char was = *p;

		*p = was == 'A' ? 'B' : 'A';
		rc = api_sshsig_verify(pk, (char *)sig.ptr, sig.len, "git", msg,
		    strlen(msg));
		tap_ok(rc == API_ESIG, "altered signature bytes: API_ESIG (%s)",
		    api_error_last());
		*p = was;
	}

	/* tolerated: CRLF, surrounding whitespace, no final newline */
	crlf = malloc(2 * sig.len + 8);
	for (i = 0, p = crlf; i < sig.len; i++) {
		if (sig.ptr[i] == '\n')
			*p++ = '\r';
		*p++ = (char)sig.ptr[i];
	}
	*p = '\0';
	rc = api_sshsig_verify(NULL, crlf, strlen(crlf), "git", msg, strlen(msg));
	tap_ok(rc == 0, "CRLF armor verifies: %d (%s)", rc, api_error_last());
	snprintf(crlf, 2 * sig.len + 8, " \n%s\n\t ", (char *)sig.ptr);
	rc = api_sshsig_verify(NULL, crlf, strlen(crlf), "git", msg, strlen(msg));
	tap_ok(rc == 0, "whitespace around the armor verifies: %d", rc);
	rc = api_sshsig_verify(NULL, (char *)sig.ptr, sig.len - 1, "git", msg,
	    strlen(msg));
	tap_ok(rc == 0, "missing final newline verifies: %d", rc);
	free(crlf);

	/* the empty message */
	rc = api_sshsig_sign(&empty, sk_a, "git", NULL, 0);
	rc = rc < 0 ? rc : api_sshsig_verify(NULL, (char *)empty.ptr, empty.len,
	    "git", "", 0);
	tap_ok(rc == 0, "empty message signs and verifies");

	/* sign refuses, and leaves out as it was */
	{
		size_t before = sig.len;
		unsigned char bad_sk[64];

		rc = api_sshsig_sign(&sig, sk_a, "", msg, strlen(msg));
		tap_ok(rc == API_EINVAL && sig.len == before,
		    "sign refuses an empty namespace, out unchanged");
		memcpy(bad_sk, sk_a, 32);
		memcpy(bad_sk + 32, pk_b, 32);
		rc = api_sshsig_sign(&sig, bad_sk, "git", msg, strlen(msg));
		tap_ok(rc == API_EINVAL && sig.len == before && one_line_error(),
		    "sign refuses a key whose halves disagree (%s)",
		    api_error_last());
		sodium_memzero(bad_sk, sizeof bad_sk);
	}
	rc = api_sshsig_verify(NULL, (char *)sig.ptr, sig.len, "", msg,
	    strlen(msg));
	tap_ok(rc == API_EINVAL, "verify refuses an empty expected namespace");

	sodium_memzero(sk_a, sizeof sk_a);
	sodium_memzero(sk_b, sizeof sk_b);
	api_buf_free(&sig);
	api_buf_free(&sig_b);
	api_buf_free(&empty);
}

static void
test_armor(void)
{
	static const struct { const char *s, *what; } bad[] = {
		{ "", "empty input" },
		{ "U1NIU0lH\n", "no header" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n", "no footer" },
		{ "-----BEGIN SSH SIGNATURE-----\n-----END SSH SIGNATURE-----\n",
		    "empty body" },
		{ "-----BEGIN SSH SIGNATURE----- x\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
		    "junk on the header line" },
		{ "-----BEGIN PGP SIGNATURE-----\nU1NIU0lH\n-----END PGP SIGNATURE-----\n",
		    "a PGP armor" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NI*0lH\n-----END SSH SIGNATURE-----\n",
		    "bad base64 character" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAA\n-----END SSH SIGNATURE-----\n",
		    "missing base64 padding" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lHAB==\n-----END SSH SIGNATURE-----\n",
		    "non-zero base64 pad bits" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lH\n-----END SSH SIGNATURE-----\n",
		    "blob of the magic only" },
		{ "-----BEGIN SSH SIGNATURE-----\nU1NIU0lI\n-----END SSH SIGNATURE-----\n",
		    "bad magic" },
	};
	char *a, *b;
	size_t i, n;
	int rc;

	for (i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		rc = verify_str(NULL, bad[i].s, "git", hello);
		tap_ok(rc == API_ESIG_FORMAT && one_line_error(),
		    "malformed armor, %s: API_ESIG_FORMAT (%s)", bad[i].what,
		    api_error_last());
	}

	n = strlen(kat_sig512);
	a = malloc(2 * n + 16);
	snprintf(a, 2 * n + 16, "%sgarbage\n", kat_sig512);
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG_FORMAT, "data after the footer: API_ESIG_FORMAT");
	snprintf(a, 2 * n + 16, "%s%s", kat_sig512, kat_sig512);
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG_FORMAT, "two signatures: API_ESIG_FORMAT");
	snprintf(a, 2 * n + 16, "x%s", kat_sig512);
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG_FORMAT, "data before the header: API_ESIG_FORMAT");
	/* the footer must start a line */
	snprintf(a, 2 * n + 16, "%s", kat_sig512);
	b = strstr(a, "=\n-----END") + 1;
	memmove(b, b + 1, strlen(b + 1) + 1);
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG_FORMAT, "footer not at a line start: API_ESIG_FORMAT");
	free(a);

	a = malloc(70 * 1024);
	memset(a, 'A', 70 * 1024 - 1);
	a[70 * 1024 - 1] = '\0';
	memcpy(a, "-----BEGIN SSH SIGNATURE-----\n", 30);
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG_FORMAT, "oversized input: API_ESIG_FORMAT (%s)",
	    api_error_last());
	free(a);
}

static void
test_blobs(const unsigned char sk[64])
{
	blobspec s;
	char *a;
	int rc;

	/* the builder itself makes good signatures */
	s = good_spec();
	a = build(&s, sk, hello);
	tap_ok(strcmp(a, kat_sig512) == 0, "test blob builder matches ssh-keygen");
	free(a);
	check_spec(&s, sk, 0, "built sha512 blob verifies");
	s.hash = "sha256";
	check_spec(&s, sk, 0, "built sha256 blob verifies");
	s = good_spec();
	s.reserved = "future";
	check_spec(&s, sk, 0, "non-empty reserved field is ignored");
	s = good_spec();
	s.ns = "file";
	a = build(&s, sk, hello);
	rc = verify_str(NULL, a, "file", hello);
	tap_ok(rc == 0, "built blob for namespace file verifies as file");
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG, "... and not as git: API_ESIG");
	free(a);

	s = good_spec(); s.hash = "sha1";
	check_spec(&s, sk, API_ESIG_FORMAT, "hash sha1");
	s = good_spec(); s.hash = "SHA512";
	check_spec(&s, sk, API_ESIG_FORMAT, "hash SHA512 (case)");
	s = good_spec(); s.hash = "";
	check_spec(&s, sk, API_ESIG_FORMAT, "empty hash");
	s = good_spec(); s.version = 2;
	check_spec(&s, sk, API_ESIG_FORMAT, "version 2");
	s = good_spec(); s.version = 0;
	check_spec(&s, sk, API_ESIG_FORMAT, "version 0");
	s = good_spec(); s.trailing = "x";
	check_spec(&s, sk, API_ESIG_FORMAT, "trailing garbage in the blob");
	s = good_spec(); s.magic = "SSHSIH";
	check_spec(&s, sk, API_ESIG_FORMAT, "bad magic");
	s = good_spec(); s.ktype = "ssh-rsa";
	check_spec(&s, sk, API_ESIG_FORMAT, "public key type ssh-rsa");
	s = good_spec(); s.ktype = "ssh-ed448";
	check_spec(&s, sk, API_ESIG_FORMAT, "public key type ssh-ed448");
	s = good_spec(); s.stype = "rsa-sha2-512";
	check_spec(&s, sk, API_ESIG_FORMAT, "signature type rsa-sha2-512");
	s = good_spec(); s.pklen = 33;
	check_spec(&s, sk, API_ESIG_FORMAT, "33-byte public key");
	s = good_spec(); s.pklen = 31;
	check_spec(&s, sk, API_ESIG_FORMAT, "31-byte public key");
	s = good_spec(); s.siglen = 65;
	check_spec(&s, sk, API_ESIG_FORMAT, "65-byte signature");
	s = good_spec(); s.siglen = 63;
	check_spec(&s, sk, API_ESIG_FORMAT, "63-byte signature");
	s = good_spec(); s.sig_trailing = 1;
	check_spec(&s, sk, API_ESIG_FORMAT, "data after the signature in its string");
	s = good_spec(); s.huge_ns_len = 1;
	check_spec(&s, sk, API_ESIG_FORMAT, "namespace length 0xffffffff");
	s = good_spec(); s.ns = "";
	a = build(&s, sk, hello);
	rc = verify_str(NULL, a, "git", hello);
	tap_ok(rc == API_ESIG_FORMAT, "empty namespace in the blob: %d (%s)", rc,
	    api_error_last());
	free(a);

	/* the KAT blob cut short at every length: always malformed */
	{
		unsigned char bin[512];
		size_t binlen, cut;
		const char *body = kat_sig512 + 30;
		int all = 1;

		sodium_base642bin(bin, sizeof bin, body,
		    strstr(body, "-----END") - body, "\n", &binlen, NULL,
		    sodium_base64_VARIANT_ORIGINAL);
		for (cut = 0; cut < binlen; cut++) {
			a = armor(bin, cut, 70, "\n");
			rc = verify_str(NULL, a, "git", hello);
			if (rc != API_ESIG_FORMAT) {
				tap_diag("blob cut at %zu: %d", cut, rc);
				all = 0;
			}
			free(a);
		}
		tap_ok(all, "blob truncated at each of %zu lengths: API_ESIG_FORMAT",
		    binlen);
		a = armor(bin, binlen, 76, "\n");
		rc = verify_str(NULL, a, "git", hello);
		tap_ok(rc == 0, "armor wrapped at 76 columns verifies");
		free(a);
	}
}

int
main(void)
{
	unsigned char seed[32], pk[32], sk[64];

	if (api_init() < 0) {
		printf("Bail out! %s\n", api_error_last());
		return 1;
	}
	sodium_hex2bin(seed, sizeof seed, kat_seed, 64, NULL, NULL, NULL);
	crypto_sign_seed_keypair(pk, sk, seed);
	test_pubkey(sk);
	test_kat(sk);
	test_roundtrip();
	test_armor();
	test_blobs(sk);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(seed, sizeof seed);
	return tap_done();
}
