/*
 * identity.c - staff identities: one file per person, outside the store.
 *
 * The file is an age identity file, so that stock `age -d -i FILE` opens
 * what was encrypted to its holder:
 *
 *	# api identity v1
 *	# handle: mkaya
 *	# created: 2026-11-26T14:30:00Z
 *	# public: mkaya age1... ssh-ed25519 AAAA...
 *	# signing-key: API-SIGNING-KEY-1...
 *	AGE-SECRET-KEY-1...
 *
 * age skips '#' lines, so the Ed25519 signing key (its 32-byte seed in
 * bech32) rides in a comment.  A protected identity is this text in an
 * armored age file encrypted with a passphrase (scrypt), which stock age
 * also accepts as an identity file, asking for the passphrase.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "api.h"

#define MAX_IDENTITY_FILE 65536
#define PASS_MAX 1024
#define SIGN_HRP "api-signing-key-"
#define SIGN_PREFIX "API-SIGNING-KEY-1"

/* Copies src if it fits, else leaves dst empty and returns -1. */
static int
set_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	dst[0] = '\0';
	if (n >= cap)
		return -1;
	memcpy(dst, src, n + 1);
	return 0;
}

int
api_handle_valid(const char *h)
{
	size_t n = strlen(h);

	if (n == 0 || n > API_HANDLE_MAX || !(islower((unsigned char)h[0]) ||
	    isdigit((unsigned char)h[0])))
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)h[i];
		if (!(islower(c) || isdigit(c) || c == '.' || c == '_' || c == '-'))
			return 0;
	}
	return 1;
}

static int
identity_alloc(api_identity **out)
{
	api_identity *id = calloc(1, sizeof *id);

	*out = NULL;
	if (id == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	id->age_sk = sodium_malloc(32);
	id->sign_sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
	if (id->age_sk == NULL || id->sign_sk == NULL) {
		api_identity_free(id);
		return api_error_set(API_ENOMEM, "out of secure memory");
	}
	*out = id;
	return API_OK;
}

int
api_identity_keys(const api_identity *me, api_age_keys **out)
{
	int rc;

	if ((rc = api_age_keys_new(out)) < 0)
		return rc;
	if ((rc = api_age_keys_add_x25519_pk(*out, me->age_sk, me->age_pk,
	    API_AGE_PK_KNOWN)) < 0) {
		api_age_keys_free(*out);
		*out = NULL;
	}
	return rc;
}

void
api_identity_free(api_identity *id)
{
	if (id == NULL)
		return;
	sodium_free(id->age_sk);
	sodium_free(id->sign_sk);
	free(id);
}

int
api_identity_generate(api_identity **out, const char *handle)
{
	api_identity *id;
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	*out = NULL;
	if (!api_handle_valid(handle))
		return api_error_set(API_EINVAL,
		    "invalid handle '%s': use 1-32 of a-z 0-9 . _ -, starting "
		    "with a letter or digit", handle);
	if ((rc = identity_alloc(&id)) < 0)
		return rc;
	set_str(id->handle, sizeof id->handle, handle);
	api_age_keypair(id->age_pk, id->age_sk);
	crypto_sign_keypair(id->sign_pk, id->sign_sk);
	gmtime_r(&now, &tm);
	strftime(id->created, sizeof id->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
	*out = id;
	return API_OK;
}

char *
api_identity_path(const char *explicit_path)
{
	const char *env, *home;
	char buf[PATH_MAX];
	char *p;

	if (explicit_path != NULL && *explicit_path)
		p = strdup(explicit_path);
	else if ((env = getenv("API_IDENTITY")) != NULL && *env)
		p = strdup(env);
	else if ((env = getenv("XDG_CONFIG_HOME")) != NULL && *env == '/') {
		snprintf(buf, sizeof buf, "%s/api/identity", env);
		p = strdup(buf);
	} else if ((home = getenv("HOME")) != NULL && *home == '/') {
		snprintf(buf, sizeof buf, "%s/.config/api/identity", home);
		p = strdup(buf);
	} else {
		api_error_set(API_ENOTFOUND,
		    "no identity: HOME is not set; use -i FILE or $API_IDENTITY");
		return NULL;
	}
	if (p == NULL)
		api_error_set(API_ENOMEM, "out of memory");
	return p;
}

void
api_identity_pubid(api_pubid *p, const api_identity *id)
{
	memcpy(p->handle, id->handle, sizeof p->handle);
	memcpy(p->age_pk, id->age_pk, 32);
	memcpy(p->sign_pk, id->sign_pk, 32);
}

int
api_pubid_format(char *out, size_t outlen, const api_pubid *p)
{
	char age[API_AGE_RECIPIENT_LEN + 1], ssh[API_SSH_PUBKEY_LEN + 1];
	int rc;

	if ((rc = api_age_recipient_encode(age, p->age_pk)) < 0 ||
	    (rc = api_ssh_pubkey_encode(ssh, p->sign_pk)) < 0)
		return rc;
	if ((size_t)snprintf(out, outlen, "%s %s %s", p->handle, age, ssh) >= outlen)
		return api_error_set(API_EINVAL, "public line: buffer too small");
	return API_OK;
}

int
api_pubid_parse(api_pubid *p, const char *line)
{
	char buf[512], *f[4], *save = NULL, *s;
	int n = 0;

	memset(p, 0, sizeof *p);
	if (strlen(line) >= sizeof buf)
		return api_error_set(API_EINVAL, "public line too long");
	snprintf(buf, sizeof buf, "%s", line);
	buf[strcspn(buf, "\r\n")] = '\0';
	for (s = strtok_r(buf, " \t", &save); s; s = strtok_r(NULL, " \t", &save)) {
		if (n == 4)
			return api_error_set(API_EINVAL,
			    "public line: expected 'HANDLE age1... ssh-ed25519 KEY'");
		f[n++] = s;
	}
	if (n != 4 || strcmp(f[2], "ssh-ed25519") != 0)
		return api_error_set(API_EINVAL,
		    "public line: expected 'HANDLE age1... ssh-ed25519 KEY'");
	if (!api_handle_valid(f[0]))
		return api_error_set(API_EINVAL, "public line: invalid handle '%s'",
		    f[0]);
	if (api_age_recipient_parse(p->age_pk, f[1]) < 0)
		return api_error_set(API_EINVAL, "public line: invalid age recipient");
	char ssh[256];
	snprintf(ssh, sizeof ssh, "%s %s", f[2], f[3]);
	if (api_ssh_pubkey_parse(p->sign_pk, ssh) < 0)
		return api_error_set(API_EINVAL, "public line: invalid ssh-ed25519 key");
	return set_str(p->handle, sizeof p->handle, f[0]) < 0 ?
	    api_error_set(API_EINVAL, "public line: handle too long") : API_OK;
}

/* The identity text, in secret memory. */
static int
identity_text(const api_identity *id, api_buf *t)
{
	char pub[256], *key = NULL;
	api_pubid p;
	int rc;

	t->secret = 1;
	if ((key = sodium_malloc(128)) == NULL)
		return api_error_set(API_ENOMEM, "out of secure memory");
	api_identity_pubid(&p, id);
	if ((rc = api_pubid_format(pub, sizeof pub, &p)) < 0)
		goto out;
	char head[512];
	snprintf(head, sizeof head, "# api identity v1\n# handle: %s\n"
	    "# created: %s\n# public: %s\n# signing-key: ", id->handle,
	    id->created, pub);
	if ((rc = api_buf_append(t, head, strlen(head))) < 0)
		goto out;
	/* the seed is the first half of libsodium's Ed25519 secret key */
	if ((rc = api_bech32_encode(key, 128, SIGN_HRP, id->sign_sk, 32, 1)) < 0 ||
	    (rc = api_buf_append(t, key, strlen(key))) < 0 ||
	    (rc = api_buf_append(t, "\n", 1)) < 0 ||
	    (rc = api_age_identity_encode(key, id->age_sk)) < 0 ||
	    (rc = api_buf_append(t, key, strlen(key))) < 0 ||
	    (rc = api_buf_append(t, "\n", 1)) < 0)
		goto out;
out:
	sodium_free(key);
	return rc;
}

static int
mkdir_parents(const char *path)
{
	char dir[PATH_MAX];
	char *s;

	if (snprintf(dir, sizeof dir, "%s", path) >= (int)sizeof dir)
		return api_error_set(API_EINVAL, "%s: path too long", path);
	if ((s = strrchr(dir, '/')) == NULL || s == dir)
		return API_OK;
	*s = '\0';
	for (s = dir + 1; ; s++) {
		if (*s == '/' || *s == '\0') {
			char c = *s;
			*s = '\0';
			if (mkdir(dir, 0700) != 0 && errno != EEXIST)
				return api_error_set(API_EIO, "%s: cannot create: %s",
				    dir, strerror(errno));
			*s = c;
			if (c == '\0')
				break;
		}
	}
	return API_OK;
}

int
api_identity_save(const api_identity *id, const char *path, api_pass_fn pass,
    void *pctx, int work_factor)
{
	api_buf text = { 0 }, out = { 0 };
	api_age_enc *e = NULL;
	char *pw = NULL;
	struct stat st;
	int rc;

	out.secret = 1;
	if (lstat(path, &st) == 0)
		return api_error_set(API_EEXIST,
		    "%s: an identity already exists; refusing to overwrite it", path);
	if ((rc = identity_text(id, &text)) < 0)
		goto out;
	if (pass != NULL) {
		if ((pw = sodium_malloc(PASS_MAX)) == NULL) {
			rc = api_error_set(API_ENOMEM, "out of secure memory");
			goto out;
		}
		if ((rc = pass(pctx, "New passphrase for the identity: ", pw,
		    PASS_MAX, 1)) < 0)
			goto out;
		if (pw[0] == '\0') {
			rc = api_error_set(API_EINVAL, "empty passphrase; use "
			    "--no-passphrase for an unprotected (service) identity");
			goto out;
		}
		if ((rc = api_age_enc_new_passphrase(&e, pw, strlen(pw), work_factor,
		    api_buf_write, &out, API_AGE_ARMOR)) < 0 ||
		    (rc = api_age_enc_write(e, text.ptr, text.len)) < 0 ||
		    (rc = api_age_enc_close(e)) < 0)
			goto out;
		if ((rc = mkdir_parents(path)) == 0)
			rc = api_file_write(path, out.ptr, out.len, 0600, 1);
	} else if ((rc = mkdir_parents(path)) == 0) {
		rc = api_file_write(path, text.ptr, text.len, 0600, 1);
	}
out:
	api_age_enc_free(e);
	sodium_free(pw);
	api_buf_free(&text);
	api_buf_free(&out);
	return rc;
}

/* "# key: value" lines and the one AGE-SECRET-KEY-1 line. */
static int
identity_parse(api_identity *id, const char *text, size_t len,
    const char *path)
{
	unsigned char seed[32];
	char line[1024];
	size_t i = 0, n, slen = sizeof seed, ages = 0;
	int have_sign = 0, rc = API_OK;
	char hrp[32];

	while (i < len && rc == 0) {
		for (n = 0; i < len && text[i] != '\n'; i++)
			if (n + 1 < sizeof line)
				line[n++] = text[i];
		i++;
		line[n] = '\0';
		if (strncmp(line, "# handle: ", 10) == 0) {
			if (!api_handle_valid(line + 10) ||
			    set_str(id->handle, sizeof id->handle, line + 10) < 0)
				rc = api_error_set(API_EINVAL, "%s: invalid handle", path);
		} else if (strncmp(line, "# created: ", 11) == 0) {
			set_str(id->created, sizeof id->created, line + 11);
		} else if (strncmp(line, "# signing-key: " SIGN_PREFIX, 32) == 0) {
			if (api_bech32_decode(line + 15, hrp, sizeof hrp, seed, &slen) < 0 ||
			    strcmp(hrp, SIGN_HRP) != 0 || slen != 32)
				rc = api_error_set(API_EINVAL, "%s: malformed signing key",
				    path);
			else {
				crypto_sign_seed_keypair(id->sign_pk, id->sign_sk, seed);
				have_sign = 1;
			}
		} else if (line[0] == '#' || line[0] == '\0') {
			continue;
		} else if (api_age_identity_parse(id->age_sk, line) == 0) {
			ages++;
		} else {
			rc = api_error_set(API_EINVAL, "%s: not an api identity file",
			    path);
		}
	}
	if (rc == 0 && (ages != 1 || !have_sign || id->handle[0] == '\0'))
		rc = api_error_set(API_EINVAL, "%s: not an api identity file "
		    "(needs a handle, a signing key and one age key)", path);
	if (rc == 0)
		rc = api_age_public(id->age_pk, id->age_sk);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(line, sizeof line);
	return rc;
}

int
api_identity_parse(api_identity **out, const char *text, size_t len,
    const char *name)
{
	api_identity *id = NULL;
	int rc;

	*out = NULL;
	if ((rc = identity_alloc(&id)) < 0)
		return rc;
	if ((rc = identity_parse(id, text, len, name)) < 0)
		api_identity_free(id);
	else
		*out = id;
	return rc;
}

static int
is_encrypted(const unsigned char *p, size_t n)
{
	size_t i = 0;

	while (i < n && isspace(p[i]))
		i++;
	return (n - i >= 5 && memcmp(p + i, "-----", 5) == 0) ||
	    (n - i >= 19 && memcmp(p + i, "age-encryption.org/", 19) == 0);
}

int
api_identity_load(api_identity **out, const char *path, api_pass_fn pass,
    void *pctx)
{
	api_buf raw = { 0 }, text = { 0 };
	api_age_keys *k = NULL;
	api_identity *id = NULL;
	char *pw = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	raw.secret = 1;
	text.secret = 1;
	if (stat(path, &st) != 0)
		return api_error_set(errno == ENOENT ? API_ENOTFOUND : API_EIO,
		    "identity %s: %s%s", path, strerror(errno), errno == ENOENT ?
		    " (create one with api-keygen, or use -i FILE)" : "");
	if (!S_ISREG(st.st_mode))
		return api_error_set(API_EINVAL, "identity %s: not a regular file", path);
	if (st.st_mode & 077)
		return api_error_set(API_EPERM, "identity %s is accessible by group "
		    "or others (mode %04o); refusing it: run chmod 600 on it",
		    path, (unsigned)(st.st_mode & 07777));
	if ((rc = api_file_read(path, &raw, MAX_IDENTITY_FILE)) < 0)
		goto out;
	if ((rc = identity_alloc(&id)) < 0)
		goto out;
	if (is_encrypted(raw.ptr, raw.len)) {
		if (pass == NULL) {
			rc = api_error_set(API_EPASS, "identity %s is protected by a "
			    "passphrase and none can be asked for", path);
			goto out;
		}
		if ((pw = sodium_malloc(PASS_MAX)) == NULL) {
			rc = api_error_set(API_ENOMEM, "out of secure memory");
			goto out;
		}
		if ((rc = pass(pctx, "Passphrase for the identity: ", pw, PASS_MAX,
		    0)) < 0) {
			char why[256];
			snprintf(why, sizeof why, "%s", api_error_last());
			rc = api_error_set(rc, "identity %s: %s", path, why);
			goto out;
		}
		if ((rc = api_age_keys_new(&k)) < 0 ||
		    (rc = api_age_keys_add_passphrase(k, pw, strlen(pw), 0)) < 0)
			goto out;
		rc = api_age_decrypt_mem(k, raw.ptr, raw.len, &text,
		    MAX_IDENTITY_FILE, 0);
		if (rc == API_EAGE_NOMATCH && strncmp(api_error_last(), "wrong", 5))
			rc = api_error_set(API_EINVAL, "identity %s is encrypted to a "
			    "recipient, not with a passphrase: not an api identity", path);
		else if (rc == API_EAGE_NOMATCH)
			rc = api_error_set(API_EPASS, "identity %s: wrong passphrase",
			    path);
		else if (rc < 0) {
			char why[256];
			snprintf(why, sizeof why, "%s", api_error_last());
			rc = api_error_set(rc, "identity %s: cannot decrypt it: %s",
			    path, why);
		}
		if (rc < 0)
			goto out;
		rc = identity_parse(id, (const char *)text.ptr, text.len, path);
	} else {
		rc = identity_parse(id, (const char *)raw.ptr, raw.len, path);
	}
out:
	api_age_keys_free(k);
	sodium_free(pw);
	api_buf_free(&raw);
	api_buf_free(&text);
	if (rc < 0)
		api_identity_free(id);
	else
		*out = id;
	return rc;
}
