/*
 * bundle.c - handover bundles: one case, for another programme's store.
 *
 * A bundle is one age file, encrypted to the receiving programme's
 * key.  Inside is a POSIX ustar archive, so that a programme without
 * these tools reads it with stock age and tar:
 *
 *	ID/MANIFEST          what the bundle holds, and where it came from
 *	ID/MANIFEST.sig      the exporter's SSH signature of MANIFEST
 *	                     (namespace "api-bundle")
 *	ID/notes/NAME.md     every note, exactly as decrypted
 *	ID/events/NAME       every event, exactly as decrypted
 *
 * MANIFEST is text, one "key value" line each, in this order:
 *
 *	api-bundle 1
 *	case ID
 *	store COMMIT           main of the exporting store at the export
 *	exported TIME          ISO 8601 UTC
 *	by HANDLE              who exported it (and signed MANIFEST.sig)
 *	recipient AGE1...      whom it is encrypted to
 *	consent EVENT          the consent event that allowed it, or
 *	override REASON        the stated reason to export without one
 *	staff ROLE HANDLE AGE1 ssh-ed25519 KEY   every member of staff
 *	record PATH SHA256 BLOB COMMIT           every record
 *
 * A record line gives the SHA-256 of the plaintext, the git blob of its
 * ciphertext in the exporting store, and the signed commit that added
 * it there: enough for that programme's auditors to trace each record
 * back.  The reader (api_bundle_read) checks all of it: the signature by
 * the key the manifest names for "by", every record listed once, present
 * and matching its hash, and naming the case and itself in its header.
 * Nothing says the exporting programme is who it claims: the signer's
 * key fingerprint is for the receiving programme to compare with the
 * one the sender gives it by another way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "api.h"

#define TAR_BLOCK 512
#define LINE_MAX_LEN 4096

/* ---- ustar -------------------------------------------------------------- */

static void
octal(char *field, size_t width, uint64_t v)
{
	/* width - 1 digits and a NUL */
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0; v >>= 3)
		field[i] = (char)('0' + (v & 7));
}

static unsigned
tar_sum(const unsigned char *h)
{
	unsigned sum = 0;

	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += (i >= 148 && i < 156) ? ' ' : h[i];
	return sum;
}

int
api_tar_add(api_buf *out, const char *name, const void *data, size_t len,
    int64_t mtime)
{
	unsigned char h[TAR_BLOCK];
	static const unsigned char zero[TAR_BLOCK];
	size_t nlen = strlen(name);
	int rc;

	if (nlen == 0 || nlen > 99)
		return api_error_set(API_EINVAL, "%s: name too long for the archive",
		    name);
	if ((uint64_t)len >= (uint64_t)1 << 33)
		return api_error_set(API_EINVAL, "%s: too large for the archive",
		    name);
	memset(h, 0, sizeof h);
	memcpy(h, name, nlen);
	octal((char *)h + 100, 8, 0600);
	octal((char *)h + 108, 8, 0);
	octal((char *)h + 116, 8, 0);
	octal((char *)h + 124, 12, len);
	octal((char *)h + 136, 12, mtime < 0 ? 0 : (uint64_t)mtime);
	h[156] = '0';
	memcpy(h + 257, "ustar", 6);
	memcpy(h + 263, "00", 2);
	octal((char *)h + 148, 7, tar_sum(h));
	h[155] = ' ';
	if ((rc = api_buf_append(out, h, sizeof h)) < 0 ||
	    (rc = api_buf_append(out, data, len)) < 0)
		return rc;
	if (len % TAR_BLOCK)
		rc = api_buf_append(out, zero, TAR_BLOCK - len % TAR_BLOCK);
	return rc;
}

int
api_tar_end(api_buf *out)
{
	static const unsigned char zero[2 * TAR_BLOCK];

	return api_buf_append(out, zero, sizeof zero);
}

/* An octal field: digits, then NUL or space to the end; else -1. */
static int
unoctal(const unsigned char *f, size_t width, uint64_t *v)
{
	size_t i = 0;

	*v = 0;
	while (i < width && f[i] == ' ')
		i++;
	if (i == width || f[i] < '0' || f[i] > '7')
		return -1;
	for (; i < width && f[i] >= '0' && f[i] <= '7'; i++) {
		if (*v >> 60)
			return -1;
		*v = *v << 3 | (uint64_t)(f[i] - '0');
	}
	for (; i < width; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return -1;
	return 0;
}

static int
all_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

int
api_tar_each(const unsigned char *p, size_t len, api_tar_fn fn, void *ctx)
{
	size_t off = 0;
	int rc;

	for (;;) {
		const unsigned char *h = p + off;
		uint64_t size, sum;
		char name[101];

		if (len - off < TAR_BLOCK)
			return api_error_set(API_EINVAL, "archive truncated at byte %zu",
			    off);
		if (all_zero(h, TAR_BLOCK)) {
			/* the end: two zero blocks, then nothing but zeros */
			if (len - off < 2 * TAR_BLOCK || !all_zero(h, len - off))
				return api_error_set(API_EINVAL, "archive: data after "
				    "its end, or its end truncated");
			return API_OK;
		}
		if (unoctal(h + 148, 8, &sum) < 0 || sum != tar_sum(h))
			return api_error_set(API_EINVAL, "archive: header checksum "
			    "wrong at byte %zu", off);
		if (memcmp(h + 257, "ustar", 6) != 0 || memcmp(h + 263, "00", 2) != 0)
			return api_error_set(API_EINVAL, "archive: not a ustar header "
			    "at byte %zu", off);
		if (h[156] != '0' && h[156] != '\0')
			return api_error_set(API_EINVAL, "archive: an entry that is not "
			    "a plain file at byte %zu", off);
		if (h[99] != '\0' || h[345] != '\0' || h[0] == '\0')
			return api_error_set(API_EINVAL, "archive: a bad name at byte "
			    "%zu", off);
		memcpy(name, h, 100);
		name[100] = '\0';
		if (unoctal(h + 124, 12, &size) < 0)
			return api_error_set(API_EINVAL, "archive: %s: bad size", name);
		off += TAR_BLOCK;
		if (size > len - off)
			return api_error_set(API_EINVAL, "archive: %s: truncated", name);
		if ((rc = fn(ctx, name, p + off, (size_t)size)) != 0)
			return rc;
		off += (size_t)size;
		if (size % TAR_BLOCK) {
			size_t pad = TAR_BLOCK - (size_t)(size % TAR_BLOCK);
			if (pad > len - off)
				return api_error_set(API_EINVAL, "archive: %s: truncated",
				    name);
			off += pad;
		}
	}
}

/* ---- the manifest ------------------------------------------------------- */

/* "notes/ID.md" or "events/ID", ID a valid object ID */
static int
record_path_valid(const char *p)
{
	char id[API_OBJ_ID_LEN + 1];
	size_t n;

	if (strncmp(p, "notes/", 6) == 0) {
		n = strlen(p + 6);
		if (n != API_OBJ_ID_LEN + 3 || strcmp(p + 6 + API_OBJ_ID_LEN, ".md"))
			return 0;
		memcpy(id, p + 6, API_OBJ_ID_LEN);
	} else if (strncmp(p, "events/", 7) == 0) {
		if (strlen(p + 7) != API_OBJ_ID_LEN)
			return 0;
		memcpy(id, p + 7, API_OBJ_ID_LEN);
	} else
		return 0;
	id[API_OBJ_ID_LEN] = '\0';
	return api_obj_id_valid(id);
}

int
api_bundle_manifest_format(const api_bundle_manifest *m, api_buf *out)
{
	char line[LINE_MAX_LEN], pub[256], hex[65], rcpt[API_AGE_RECIPIENT_LEN + 1];
	int rc;

	if ((rc = api_age_recipient_encode(rcpt, m->recipient)) < 0)
		return rc;
	snprintf(line, sizeof line, "api-bundle 1\ncase %s\nstore %s\n"
	    "exported %s\nby %s\nrecipient %s\n", m->case_id, m->store,
	    m->exported, m->by, rcpt);
	if ((rc = api_buf_append(out, line, strlen(line))) < 0)
		return rc;
	if (m->override)
		snprintf(line, sizeof line, "override %s\n", m->override);
	else
		snprintf(line, sizeof line, "consent %s\n", m->consent);
	if ((rc = api_buf_append(out, line, strlen(line))) < 0)
		return rc;
	for (size_t i = 0; i < m->nstaff; i++) {
		if ((rc = api_pubid_format(pub, sizeof pub, &m->staff[i].pub)) < 0)
			return rc;
		snprintf(line, sizeof line, "staff %s %s\n", m->staff[i].role, pub);
		if ((rc = api_buf_append(out, line, strlen(line))) < 0)
			return rc;
	}
	for (size_t i = 0; i < m->nrec; i++) {
		const api_bundle_record *r = &m->rec[i];
		sodium_bin2hex(hex, sizeof hex, r->sha256, sizeof r->sha256);
		snprintf(line, sizeof line, "record %s %s %s %s\n", r->path, hex,
		    r->blob, r->commit);
		if ((rc = api_buf_append(out, line, strlen(line))) < 0)
			return rc;
	}
	return API_OK;
}

void
api_bundle_manifest_free(api_bundle_manifest *m)
{
	free(m->staff);
	free(m->rec);
	free(m->override);
	memset(m, 0, sizeof *m);
}

/* The next line of text (without its newline) into line; 0 at the end. */
static int
next_line(const char **p, const char *end, char *line, size_t cap, size_t no)
{
	const char *nl;
	size_t n;

	if (*p == end)
		return 0;
	if ((nl = memchr(*p, '\n', (size_t)(end - *p))) == NULL)
		return api_error_set(API_EINVAL, "manifest line %zu: no newline at "
		    "the end", no);
	n = (size_t)(nl - *p);
	if (n >= cap)
		return api_error_set(API_EINVAL, "manifest line %zu: too long", no);
	memcpy(line, *p, n);
	line[n] = '\0';
	*p = nl + 1;
	return 1;
}

/* line is "key VALUE": the value, else NULL */
static const char *
value(const char *line, const char *key)
{
	size_t n = strlen(key);

	return strncmp(line, key, n) == 0 && line[n] == ' ' && line[n + 1] ?
	    line + n + 1 : NULL;
}

#define BAD(...) do { rc = api_error_set(API_EINVAL, __VA_ARGS__); \
	goto out; } while (0)

int
api_bundle_manifest_parse(api_bundle_manifest *m, const char *text, size_t len)
{
	static const char *const head[] = { "api-bundle", "case", "store",
		"exported", "by", "recipient" };
	const char *p = text, *end = text + len, *v;
	char line[LINE_MAX_LEN];
	size_t no = 0, cap_s = 0, cap_r = 0;
	int64_t t;
	int rc, got;

	memset(m, 0, sizeof *m);
	if (api_text_check(text, len, "manifest") < 0)
		return API_EINVAL;
	for (size_t i = 0; i < 6; i++) {
		if ((got = next_line(&p, end, line, sizeof line, ++no)) <= 0) {
			rc = got < 0 ? got : api_error_set(API_EINVAL, "manifest: "
			    "ends before its \"%s\" line", head[i]);
			goto out;
		}
		if ((v = value(line, head[i])) == NULL)
			BAD("manifest line %zu: expected \"%s\"", no, head[i]);
		switch (i) {
		case 0:
			if (strcmp(v, "1") != 0)
				BAD("manifest: version %s is not known here", v);
			break;
		case 1:
			if (!api_case_id_valid(v))
				BAD("manifest line %zu: not a case ID", no);
			memcpy(m->case_id, v, API_CASE_ID_LEN + 1);
			break;
		case 2:
			if (!api_hex_valid(v, 40))
				BAD("manifest line %zu: not a commit ID", no);
			memcpy(m->store, v, 41);
			break;
		case 3:
			if (strlen(v) >= sizeof m->exported || api_time_parse(v, &t) < 0)
				BAD("manifest line %zu: not a time", no);
			snprintf(m->exported, sizeof m->exported, "%s", v);
			break;
		case 4:
			if (!api_handle_valid(v))
				BAD("manifest line %zu: not a handle", no);
			snprintf(m->by, sizeof m->by, "%s", v);
			break;
		case 5:
			if (api_age_recipient_parse(m->recipient, v) < 0)
				BAD("manifest line %zu: not an age recipient", no);
			break;
		}
	}
	if ((got = next_line(&p, end, line, sizeof line, ++no)) <= 0) {
		rc = got < 0 ? got : api_error_set(API_EINVAL, "manifest: ends "
		    "before its consent line");
		goto out;
	}
	if ((v = value(line, "consent")) != NULL) {
		if (!api_obj_id_valid(v))
			BAD("manifest line %zu: not an event ID", no);
		memcpy(m->consent, v, API_OBJ_ID_LEN + 1);
	} else if ((v = value(line, "override")) != NULL) {
		if (api_purpose_check(v) < 0)
			BAD("manifest line %zu: override: %s", no, api_error_last());
		if ((m->override = strdup(v)) == NULL)
			BAD("out of memory");
	} else
		BAD("manifest line %zu: expected \"consent\" or \"override\"", no);
	while ((got = next_line(&p, end, line, sizeof line, ++no)) > 0) {
		if ((v = value(line, "staff")) != NULL) {
			if (m->nrec)
				BAD("manifest line %zu: staff after the records", no);
			if (m->nstaff == cap_s) {
				size_t nc = cap_s ? 2 * cap_s : 16;
				void *nv = nc > 100000 ? NULL :
				    realloc(m->staff, nc * sizeof *m->staff);
				if (nv == NULL)
					BAD("manifest: too many staff");
				m->staff = nv;
				cap_s = nc;
			}
			api_bundle_staff *st = &m->staff[m->nstaff];
			size_t rl = strcspn(v, " ");
			memset(st, 0, sizeof *st);
			if (rl >= sizeof st->role || v[rl] != ' ')
				BAD("manifest line %zu: bad staff line", no);
			memcpy(st->role, v, rl);
			char pub[256];
			/* exactly as written: the public line formats back to
			 * itself (no other blanks, no comment) */
			if (!api_role_valid(st->role) ||
			    api_pubid_parse(&st->pub, v + rl + 1) < 0 ||
			    api_pubid_format(pub, sizeof pub, &st->pub) < 0 ||
			    strcmp(pub, v + rl + 1) != 0)
				BAD("manifest line %zu: bad staff line", no);
			for (size_t i = 0; i < m->nstaff; i++)
				if (strcmp(m->staff[i].pub.handle, st->pub.handle) == 0)
					BAD("manifest line %zu: %s listed twice", no,
					    st->pub.handle);
			m->nstaff++;
		} else if ((v = value(line, "record")) != NULL) {
			char path[96], sha[65], blob[41], commit[41], extra;
			char again[LINE_MAX_LEN];
			if (m->nrec == cap_r) {
				size_t nc = cap_r ? 2 * cap_r : 64;
				if (nc > API_BUNDLE_MAX_RECORDS)
					nc = API_BUNDLE_MAX_RECORDS;
				void *nv = nc == cap_r ? NULL :
				    realloc(m->rec, nc * sizeof *m->rec);
				if (nv == NULL)
					BAD("manifest: too many records");
				m->rec = nv;
				cap_r = nc;
			}
			api_bundle_record *r = &m->rec[m->nrec];
			if (sscanf(v, "%95s %64s %40s %40s %c", path, sha, blob, commit,
			    &extra) != 4 || !api_hex_valid(sha, 64) ||
			    !api_hex_valid(blob, 40) ||
			    !api_hex_valid(commit, 40) ||
			    !record_path_valid(path) ||
			    (size_t)snprintf(again, sizeof again, "%s %s %s %s", path,
			    sha, blob, commit) != strlen(v) || strcmp(again, v) != 0)
				BAD("manifest line %zu: bad record line", no);
			memset(r, 0, sizeof *r);
			memcpy(r->path, path, strlen(path) + 1);
			memcpy(r->blob, blob, 41);
			memcpy(r->commit, commit, 41);
			if (sodium_hex2bin(r->sha256, sizeof r->sha256, sha, 64, NULL,
			    NULL, NULL) < 0)
				BAD("manifest line %zu: bad record line", no);
			for (size_t i = 0; i < m->nrec; i++)
				if (strcmp(m->rec[i].path, r->path) == 0)
					BAD("manifest line %zu: %s listed twice", no, r->path);
			m->nrec++;
		} else
			BAD("manifest line %zu: unknown line", no);
	}
	if (got < 0) {
		rc = got;
		goto out;
	}
	if (m->nrec == 0)
		BAD("manifest: no records");
	return API_OK;
out:
	api_bundle_manifest_free(m);
	return rc;
}

/* ---- reading a bundle --------------------------------------------------- */

struct reader {
	api_bundle *b;
	char dir[API_CASE_ID_LEN + 2];     /* "ID/" once known */
	int have_manifest, have_sig;
	api_buf manifest, sig;
	size_t *seen;                      /* per record: found */
};

void
api_bundle_free(api_bundle *b)
{
	if (b == NULL)
		return;
	for (size_t i = 0; i < b->m.nrec; i++)
		api_buf_free(&b->text[i]);
	free(b->text);
	api_bundle_manifest_free(&b->m);
	api_buf_free(&b->manifest);
	free(b);
}

static int
entry(void *ctx, const char *name, const unsigned char *data, size_t len)
{
	struct reader *rd = ctx;
	api_bundle *b = rd->b;
	const char *rest;
	unsigned char h[crypto_hash_sha256_BYTES];

	if (!rd->have_manifest) {
		/* the first entry: ID/MANIFEST */
		if (strlen(name) != API_CASE_ID_LEN + 9 ||
		    strcmp(name + API_CASE_ID_LEN, "/MANIFEST") != 0)
			return api_error_set(API_EINVAL, "the first entry is %s, not "
			    "the manifest", name);
		memcpy(rd->dir, name, API_CASE_ID_LEN + 1);
		rd->dir[API_CASE_ID_LEN + 1] = '\0';
		rd->have_manifest = 1;
		if (api_buf_append(&b->manifest, data, len) < 0)
			return API_ENOMEM;
		if (api_bundle_manifest_parse(&b->m, (const char *)data, len) < 0)
			return API_EINVAL;
		if (strncmp(b->m.case_id, name, API_CASE_ID_LEN) != 0)
			return api_error_set(API_EINVAL, "the manifest is for case %s, "
			    "the archive for %.*s", b->m.case_id, API_CASE_ID_LEN, name);
		if ((b->text = calloc(b->m.nrec, sizeof *b->text)) == NULL ||
		    (rd->seen = calloc(b->m.nrec, sizeof *rd->seen)) == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		return 0;
	}
	if (strncmp(name, rd->dir, API_CASE_ID_LEN + 1) != 0)
		return api_error_set(API_EINVAL, "%s: outside the case's folder",
		    name);
	rest = name + API_CASE_ID_LEN + 1;
	if (!rd->have_sig) {
		if (strcmp(rest, "MANIFEST.sig") != 0)
			return api_error_set(API_EINVAL, "%s: the manifest's signature "
			    "should come second", name);
		rd->have_sig = 1;
		return api_buf_append(&rd->sig, data, len);
	}
	for (size_t i = 0; i < b->m.nrec; i++) {
		if (strcmp(b->m.rec[i].path, rest) != 0)
			continue;
		if (rd->seen[i])
			return api_error_set(API_EINVAL, "%s: in the archive twice",
			    name);
		rd->seen[i] = 1;
		crypto_hash_sha256(h, data, len);
		if (sodium_memcmp(h, b->m.rec[i].sha256, sizeof h) != 0)
			return api_error_set(API_EINVAL, "%s: does not match the "
			    "manifest's SHA-256 (tampered?)", name);
		b->text[i].secret = 1;
		return api_buf_append(&b->text[i], data, len);
	}
	return api_error_set(API_EINVAL, "%s: not in the manifest", name);
}

/* The header of record i names the case and the record itself. */
static int
check_record(api_bundle *b, size_t i)
{
	const char *path = b->m.rec[i].path, *want, *got;
	int note = strncmp(path, "notes/", 6) == 0;
	char id[API_OBJ_ID_LEN + 1];
	api_record r = { 0 };
	int rc;

	memcpy(id, path + (note ? 6 : 7), API_OBJ_ID_LEN);
	id[API_OBJ_ID_LEN] = '\0';
	if ((rc = api_record_parse(&r, b->text[i].ptr, b->text[i].len)) < 0) {
		rc = api_error_set(API_EINVAL, "%s: %s", path, api_error_last());
		goto out;
	}
	want = api_record_get(&r, "Case");
	got = api_record_get(&r, note ? "Note" : "Event");
	if (want == NULL || strcmp(want, b->m.case_id) != 0 || got == NULL ||
	    strcmp(got, id) != 0)
		rc = api_error_set(API_EINVAL, "%s: its header does not name case "
		    "%s and %s %s", path, b->m.case_id, note ? "note" : "event", id);
out:
	api_record_free(&r);
	return rc;
}

int
api_bundle_read(api_bundle **out, const api_identity *me, const void *ct,
    size_t ctlen)
{
	struct reader rd;
	api_age_keys *k = NULL;
	api_buf plain = { 0 };
	api_bundle *b;
	unsigned char pk[32];
	int rc;

	*out = NULL;
	memset(&rd, 0, sizeof rd);
	if ((b = calloc(1, sizeof *b)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	rd.b = b;
	plain.secret = 1;
	crypto_hash_sha256(b->sha256, ct, ctlen);
	if ((rc = api_identity_keys(me, &k)) < 0)
		goto out;
	rc = api_age_decrypt_mem(k, ct, ctlen, &plain, API_BUNDLE_MAX, 0);
	if (rc == API_EAGE_NOMATCH) {
		rc = api_error_set(rc, "not encrypted to %s's key (a bundle for "
		    "another recipient?)", me->handle);
		goto out;
	}
	if (rc < 0)
		goto out;
	if ((rc = api_tar_each(plain.ptr, plain.len, entry, &rd)) < 0)
		goto out;
	if (!rd.have_manifest || !rd.have_sig) {
		rc = api_error_set(API_EINVAL, "no %s in the archive",
		    rd.have_manifest ? "signature" : "manifest");
		goto out;
	}
	for (size_t i = 0; i < b->m.nrec; i++)
		if (!rd.seen[i]) {
			rc = api_error_set(API_EINVAL, "%s: in the manifest, not in the "
			    "archive", b->m.rec[i].path);
			goto out;
		}
	if (sodium_memcmp(b->m.recipient, me->age_pk, 32) != 0) {
		rc = api_error_set(API_EINVAL, "the manifest names another "
		    "recipient than %s", me->handle);
		goto out;
	}
	rc = api_sshsig_verify(pk, (const char *)rd.sig.ptr, rd.sig.len,
	    "api-bundle", b->manifest.ptr, b->manifest.len);
	if (rc < 0) {
		rc = api_error_set(API_EINVAL, "the manifest's signature: %s",
		    api_error_last());
		goto out;
	}
	b->signer = NULL;
	for (size_t i = 0; i < b->m.nstaff; i++)
		if (strcmp(b->m.staff[i].pub.handle, b->m.by) == 0 &&
		    sodium_memcmp(b->m.staff[i].pub.sign_pk, pk, 32) == 0)
			b->signer = &b->m.staff[i];
	if (b->signer == NULL) {
		rc = api_error_set(API_EINVAL, "the manifest is not signed by the key "
		    "it names for %s", b->m.by);
		goto out;
	}
	for (size_t i = 0; i < b->m.nrec; i++)
		if ((rc = check_record(b, i)) < 0)
			goto out;
	*out = b;
	b = NULL;
out:
	free(rd.seen);
	api_buf_free(&rd.sig);
	api_buf_free(&plain);
	api_age_keys_free(k);
	api_bundle_free(b);
	return rc;
}
