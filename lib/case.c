/*
 * case.c - cases: IDs, the team file, the case key envelope, records.
 *
 * A case lives at cases/S/H/ID on main (S, H: the first two characters
 * of the ID, two levels of at most 32 entries, so that a write rewrites
 * small trees even with a million cases): "team" (one handle a line, the lead caseworker first),
 * "recipient" (the case's age public key), notes/ and events/ (age files
 * encrypted to that key; events also to the store's leads, service
 * staff, admins and auditors).  The case's secret keys are in a separate ref, API_KEYS_REF, at
 * cases/S/H/ID/key.age: an age identity file encrypted to the team.  That
 * ref keeps no history (every commit on it is a root), so that destroying
 * a case's envelope destroys the only way to read the case.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <git2.h>
#include <sodium.h>

#include "api.h"

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

struct api_case {
	api_store *s;
	char id[API_CASE_ID_LEN + 1];
	char dir[32];
	api_team team;
	git_tree *tree;              /* cases/S/H/ID on the tip of main */
	git_tree *sub[2];            /* its notes/ and events/, once read:
	                              * libgit2 keeps no tree over 4 KiB */
	api_age_keys *keys;          /* the notes keys, after unlock */
	api_age_keys *evkeys;        /* the events keys, after unlock */
	int events_only;             /* keys from events.age: no notes */
	char *purged;                /* the purge record, if purged */
	api_age_keys *mine;          /* the reader's own key */
	unsigned char rpk[2][32];    /* its recipient file: notes, events */
};

/* ---- IDs ------------------------------------------------------------- */

static void
random_chars(char *out, size_t n, int lower)
{
	for (size_t i = 0; i < n; i++) {
		char c = crockford[randombytes_uniform(32)];
		out[i] = lower && c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
	}
	out[n] = '\0';
}

void
api_case_id_new(char *out)
{
	random_chars(out, API_CASE_ID_LEN, 0);
}

static int
crockford_char(char c, int lower)
{
	if (lower && c >= 'a' && c <= 'z')
		c = (char)(c - 'a' + 'A');
	else if (c >= 'a' && c <= 'z')
		return 0;
	return c != '\0' && strchr(crockford, c) != NULL;
}

int
api_case_id_valid(const char *s)
{
	size_t i;

	for (i = 0; s[i]; i++)
		if (!crockford_char(s[i], 0))
			return 0;
	return i == API_CASE_ID_LEN;
}

int
api_obj_id_new(char *out)
{
	struct timespec ts;
	struct tm tm;

	/* milliseconds: records of one case sort in the order written */
	if (clock_gettime(CLOCK_REALTIME, &ts) < 0 ||
	    gmtime_r(&ts.tv_sec, &tm) == NULL ||
	    strftime(out, 16, "%Y%m%dT%H%M%S", &tm) != 15)
		return api_error_set(API_EINVAL, "time out of range");
	snprintf(out + 15, 8, ".%03dZ-", (int)(ts.tv_nsec / 1000000) % 1000);
	random_chars(out + 21, 6, 1);
	return API_OK;
}

int
api_obj_id_valid(const char *s)
{
	static const char pat[] = "DDDDDDDDTDDDDDD.DDDZ-cccccc";

	if (strlen(s) != API_OBJ_ID_LEN)
		return 0;
	for (size_t i = 0; i < API_OBJ_ID_LEN; i++) {
		char p = pat[i], c = s[i];
		if (p == 'D' ? !(c >= '0' && c <= '9') :
		    p == 'c' ? !(crockford_char(c, 1) && !(c >= 'A' && c <= 'Z')) :
		    c != p)
			return 0;
	}
	return 1;
}

void
api_case_dir(char *out, const char *id)
{
	snprintf(out, 32, "cases/%c/%c/%s", id[0], id[1], id);
}

/* ---- the team file ----------------------------------------------------- */

int
api_team_has(const api_team *t, const char *handle)
{
	for (size_t i = 0; i < t->n; i++)
		if (strcmp(t->member[i], handle) == 0)
			return 1;
	return 0;
}

int
api_team_add(api_team *t, const char *handle)
{
	char (*v)[API_HANDLE_MAX + 1];

	if (!api_handle_valid(handle))
		return api_error_set(API_EINVAL, "invalid handle '%s'", handle);
	if (api_team_has(t, handle))
		return API_OK;
	if ((v = realloc(t->member, (t->n + 1) * sizeof *v)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	t->member = v;
	snprintf(t->member[t->n++], API_HANDLE_MAX + 1, "%s", handle);
	return API_OK;
}

int
api_team_parse(api_team *t, const char *text, size_t len)
{
	char h[API_HANDLE_MAX + 1];
	size_t i = 0;
	int rc;

	memset(t, 0, sizeof *t);
	while (i < len) {
		const char *nl = memchr(text + i, '\n', len - i);
		size_t n = nl ? (size_t)(nl - (text + i)) : len - i;
		/* a NUL would hide the rest of the line from the handle */
		if (nl == NULL || n == 0 || n > API_HANDLE_MAX ||
		    memchr(text + i, '\0', n) != NULL)
			goto bad;
		memcpy(h, text + i, n);
		h[n] = '\0';
		if (!api_handle_valid(h) || api_team_has(t, h))
			goto bad;
		if ((rc = api_team_add(t, h)) < 0) {
			api_team_free(t);
			return rc;
		}
		i += n + 1;
	}
	if (t->n > 0)
		return API_OK;
bad:
	api_team_free(t);
	return api_error_set(API_EINVAL, "team file: not one handle a line");
}

int
api_team_format(const api_team *t, api_buf *out)
{
	int rc;

	for (size_t i = 0; i < t->n; i++)
		if ((rc = api_buf_append(out, t->member[i],
		    strlen(t->member[i]))) < 0 ||
		    (rc = api_buf_append(out, "\n", 1)) < 0)
			return rc;
	return API_OK;
}

void
api_team_free(api_team *t)
{
	free(t->member);
	memset(t, 0, sizeof *t);
}

/* ---- records ------------------------------------------------------------ */

/* Length of the UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t
utf8_len(const unsigned char *s, size_t n)
{
	unsigned c = s[0], need, min;
	uint32_t cp;

	if (c < 0x80)
		return 1;
	if (c >= 0xc2 && c <= 0xdf)
		need = 1, min = 0x80, cp = c & 0x1f;
	else if (c >= 0xe0 && c <= 0xef)
		need = 2, min = 0x800, cp = c & 0x0f;
	else if (c >= 0xf0 && c <= 0xf4)
		need = 3, min = 0x10000, cp = c & 0x07;
	else
		return 0;
	if (n < need + 1)
		return 0;
	for (unsigned i = 1; i <= need; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return need + 1;
}

int
api_text_check(const void *text, size_t len, const char *what)
{
	const unsigned char *s = text;
	size_t line = 1;

	for (size_t i = 0; i < len; ) {
		size_t n;
		if (s[i] == '\0')
			return api_error_set(API_EINVAL, "%s: NUL byte on line %zu",
			    what, line);
		if ((n = utf8_len(s + i, len - i)) == 0)
			return api_error_set(API_EINVAL, "%s: invalid UTF-8 on line %zu",
			    what, line);
		if (s[i] == '\n')
			line++;
		i += n;
	}
	return API_OK;
}

int
api_record_field(api_buf *out, const char *key, const char *value)
{
	int rc;

	if (value == NULL || *value == '\0')
		return API_OK;
	for (const unsigned char *p = (const unsigned char *)value; *p; p++)
		if (*p < 0x20 || *p == 0x7f)
			return api_error_set(API_EINVAL, "%s: control character in "
			    "the value", key);
	if ((rc = api_text_check(value, strlen(value), key)) < 0)
		return rc;
	if ((rc = api_buf_append(out, key, strlen(key))) < 0 ||
	    (rc = api_buf_append(out, ": ", 2)) < 0 ||
	    (rc = api_buf_append(out, value, strlen(value))) < 0 ||
	    (rc = api_buf_append(out, "\n", 1)) < 0)
		return rc;
	return API_OK;
}

int
api_record_parse(api_record *r, const void *text, size_t len)
{
	char *p, *end;
	int rc;

	/* the buffer of a record read before is used again */
	api_buf keep = r->text;
	memset(r, 0, sizeof *r);
	r->text = keep;
	r->text.len = 0;
	r->text.secret = 1;
	if ((rc = api_text_check(text, len, "record")) < 0 ||
	    (rc = api_buf_append(&r->text, text, len)) < 0)
		goto fail;
	p = (char *)r->text.ptr;
	end = p + len;
	while (p < end && *p != '\n') {
		char *nl = memchr(p, '\n', (size_t)(end - p)), *colon;
		if (nl == NULL)
			nl = end;
		*nl = '\0';
		colon = strchr(p, ':');
		if (colon == NULL || colon == p || r->n == API_RECORD_FIELDS) {
			rc = api_error_set(API_EINVAL, "record header: line '%.40s' is "
			    "not 'Key: value'", p);
			goto fail;
		}
		for (char *k = p; k < colon; k++)
			if (!((*k >= 'A' && *k <= 'Z') || (*k >= 'a' && *k <= 'z') ||
			    (*k >= '0' && *k <= '9') || *k == '-')) {
				rc = api_error_set(API_EINVAL, "record header: bad key");
				goto fail;
			}
		*colon = '\0';
		r->key[r->n] = p;
		p = colon + 1;
		while (*p == ' ')
			p++;
		r->val[r->n++] = p;
		p = nl + 1;
	}
	if (p < end) {
		p++;                 /* the empty line */
		r->blank = 1;
	}
	if (p > end)
		p = end;
	r->body = p;
	r->bodylen = (size_t)(end - p);
	return API_OK;
fail:
	api_record_free(r);
	return rc;
}

const char *
api_record_get(const api_record *r, const char *key)
{
	for (size_t i = r->n; i > 0; i--)
		if (strcasecmp(r->key[i - 1], key) == 0)
			return r->val[i - 1];
	return NULL;
}

void
api_record_free(api_record *r)
{
	api_buf_free(&r->text);
	api_buf_free(&r->raw);
	memset(r, 0, sizeof *r);
}

/* ---- dates ---------------------------------------------------------------- */

/* days since 1970-01-01 of a proleptic Gregorian date */
static long
days_from_civil(long y, unsigned m, unsigned d)
{
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (long)doe - 719468;
}

int
api_date_parse(const char *s, long *days)
{
	static const unsigned mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30,
	    31, 30, 31 };
	unsigned y, m, d;
	char tail;

	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4u-%2u-%2u%c", &y, &m, &d, &tail) != 3)
		goto bad;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !(s[i] >= '0' && s[i] <= '9'))
			goto bad;
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
	    (m == 2 && d == 29 && !(y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))))
		goto bad;
	*days = days_from_civil((long)y, m, d);
	return API_OK;
bad:
	return api_error_set(API_EINVAL, "'%s' is not a date (YYYY-MM-DD)", s);
}

void
api_date_format(char out[11], long days)
{
	time_t t = (time_t)days * 86400;
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || strftime(out, 11, "%Y-%m-%d", &tm) != 10)
		snprintf(out, 11, "%s", "0000-00-00");
}

long
api_date_today(void)
{
	return (long)(time(NULL) / 86400);
}

/* ---- reading a case ------------------------------------------------------ */

/* The full ID of a case by ID or unique prefix (upper-cased). */
static int
case_resolve(git_repository *repo, git_tree *root, const char *arg,
    char *id)
{
	char want[API_CASE_ID_LEN + 1], path[16];
	git_tree_entry *e = NULL;
	git_tree *shard = NULL;
	size_t n = strlen(arg), found = 0;

	if (n < 4 || n > API_CASE_ID_LEN)
		return api_error_set(API_EINVAL, "'%s' is not a case ID", arg);
	for (size_t i = 0; i <= n; i++) {
		char c = arg[i];
		want[i] = c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
		if (i < n && !crockford_char(want[i], 0))
			return api_error_set(API_EINVAL, "'%s' is not a case ID", arg);
	}
	snprintf(path, sizeof path, "cases/%c/%c", want[0], want[1]);
	if (git_tree_entry_bypath(&e, root, path) < 0 ||
	    git_tree_entry_type(e) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&shard, repo, git_tree_entry_id(e)) < 0)
		goto out;
	for (size_t i = 0; i < git_tree_entrycount(shard); i++) {
		const char *name = git_tree_entry_name(
		    git_tree_entry_byindex(shard, i));
		if (strncmp(name, want, n) == 0 && api_case_id_valid(name)) {
			if (found++)
				break;
			snprintf(id, API_CASE_ID_LEN + 1, "%s", name);
		}
	}
out:
	git_tree_free(shard);
	git_tree_entry_free(e);
	if (found == 1)
		return API_OK;
	if (found > 1)
		return api_error_set(API_EINVAL, "case prefix %s is ambiguous; give "
		    "more characters", want);
	return api_error_set(API_ENOTFOUND, "no case %s in this store", want);
}

static int
blob_read(git_repository *repo, git_tree *tree, const char *path,
    api_buf *out, size_t max)
{
	git_tree_entry *e = NULL;
	git_blob *b = NULL;
	int rc;

	if (git_tree_entry_bypath(&e, tree, path) < 0)
		return api_error_set(API_ENOTFOUND, "no %s", path);
	if (git_tree_entry_type(e) != GIT_OBJECT_BLOB)
		rc = api_error_set(API_EINVAL, "%s is not a file", path);
	else if (git_blob_lookup(&b, git_tree_owner(tree), git_tree_entry_id(e)) < 0)
		rc = api_git_fail(API_EIO, path);
	else if ((size_t)git_blob_rawsize(b) > max)
		rc = api_error_set(API_EINVAL, "%s is larger than %zu bytes", path,
		    max);
	else
		rc = api_buf_append(out, git_blob_rawcontent(b),
		    (size_t)git_blob_rawsize(b));
	(void)repo;
	git_blob_free(b);
	git_tree_entry_free(e);
	return rc;
}

int
api_case_load(api_store *s, const char *arg, api_case **out)
{
	git_repository *repo = api_store_repo(s);
	git_tree *root = NULL;
	git_tree_entry *e = NULL;
	api_buf b = { 0 };
	api_case *c;
	int rc;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	c->s = s;
	if ((rc = api_store_tree(s, NULL, &root)) < 0 ||
	    (rc = case_resolve(repo, root, arg, c->id)) < 0)
		goto out;
	api_case_dir(c->dir, c->id);
	if (git_tree_entry_bypath(&e, root, c->dir) < 0 ||
	    git_tree_lookup(&c->tree, repo, git_tree_entry_id(e)) < 0) {
		rc = api_git_fail(API_EIO, c->dir);
		goto out;
	}
	if (blob_read(repo, c->tree, "purged", &b, 1024) == 0 &&
	    (c->purged = strndup((char *)b.ptr, b.len)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	b.len = 0;
	if ((rc = blob_read(repo, c->tree, "team", &b, 65536)) < 0 ||
	    (rc = api_team_parse(&c->team, (char *)b.ptr, b.len)) < 0) {
		rc = api_error_set(rc, "case %s: %s", c->id, api_error_last());
		goto out;
	}
	b.len = 0;
	if ((rc = blob_read(repo, c->tree, "recipient", &b, 256)) < 0)
		goto out;
	/* readers take the keys from the envelopes; the recipient file is
	 * checked all the same, as a case's own, and its public keys are a
	 * hint for the envelopes' newest */
	if ((rc = api_recipient_parse((char *)b.ptr, b.len, c->rpk[0],
	    c->rpk[1])) < 0)
		rc = api_error_set(API_EINVAL, "case %s: %s", c->id,
		    api_error_last());
out:
	api_buf_free(&b);
	git_tree_entry_free(e);
	git_tree_free(root);
	if (rc < 0)
		api_case_free(c);
	else
		*out = c;
	return rc;
}

void
api_case_free(api_case *c)
{
	if (c == NULL)
		return;
	api_team_free(&c->team);
	git_tree_free(c->sub[0]);
	git_tree_free(c->sub[1]);
	git_tree_free(c->tree);
	api_age_keys_free(c->keys);
	api_age_keys_free(c->evkeys);
	api_age_keys_free(c->mine);
	free(c->purged);
	free(c);
}

const char *
api_case_id(const api_case *c)
{
	return c->id;
}

const char *
api_case_purged(const api_case *c)
{
	return c->purged;
}

const api_team *
api_case_team(const api_case *c)
{
	return &c->team;
}

int
api_case_files(api_case *c, const char *kind, char ***names, size_t *n)
{
	git_tree_entry *e = NULL;
	git_tree *t = NULL;
	size_t count, k = 0;
	int rc = API_OK;

	*names = NULL;
	*n = 0;
	if (git_tree_entry_bypath(&e, c->tree, kind) < 0)
		return API_OK;
	if (git_tree_entry_type(e) != GIT_OBJECT_TREE ||
	    git_tree_lookup(&t, git_tree_owner(c->tree),
	    git_tree_entry_id(e)) < 0) {
		git_tree_entry_free(e);
		return api_error_set(API_EINVAL, "case %s: %s is not a directory",
		    c->id, kind);
	}
	count = git_tree_entrycount(t);
	if ((*names = calloc(count ? count : 1, sizeof **names)) == NULL)
		rc = api_error_set(API_ENOMEM, "out of memory");
	for (size_t i = 0; rc == 0 && i < count; i++)
		if (((*names)[k++] = strdup(git_tree_entry_name(
		    git_tree_entry_byindex(t, i)))) == NULL)
			rc = api_error_set(API_ENOMEM, "out of memory");
	*n = k;
	git_tree_free(t);
	git_tree_entry_free(e);
	return rc;
}

/* The reader's own key, made once a case. */
static int
keys_of(api_age_keys **out, const api_identity *me)
{
	return *out != NULL ? API_OK : api_identity_keys(me, out);
}

/* Decrypts the envelope NAME (key.age or events.age) of c with me. */
static int
unlock(api_case *c, const api_identity *me, const char *name,
    const char *who)
{
	api_buf env = { 0 }, plain = { 0 };
	char path[48];
	int rc;

	plain.secret = 1;
	if (c->purged)
		return api_error_set(API_ENOTFOUND, "case %s was purged: its keys "
		    "are destroyed and nothing of it can be read", c->id);
	snprintf(path, sizeof path, "%s/%s", c->dir, name);
	if ((rc = keys_of(&c->mine, me)) < 0)
		return rc;
	rc = api_store_read_ref(c->s, API_KEYS_REF, path, &env);
	if (rc == API_ENOTFOUND) {
		rc = api_error_set(API_ENOTFOUND, "case %s has no key (%s): its "
		    "records cannot be read by anyone", c->id, name);
		goto out;
	}
	if (rc < 0)
		goto out;
	rc = api_age_decrypt_mem(c->mine, env.ptr, env.len, &plain, 65536,
	    API_AGE_BINARY);
	if (rc == API_EAGE_NOMATCH) {
		rc = api_error_set(API_EPERM, "%s is not %s of case %s",
		    me->handle, who, c->id);
		goto out;
	}
	if (rc < 0) {
		rc = api_error_set(rc, "case %s: key envelope %s: %s", c->id, name,
		    api_error_last());
		goto out;
	}
	/* the notes keys and the events keys apart: each record is tried
	 * only with the keys of its kind (one X25519 per file) */
	api_keyset ks;
	if ((rc = api_envelope_parse((char *)plain.ptr, plain.len, &ks)) < 0) {
		rc = api_error_set(rc, "case %s: key envelope %s: %s", c->id, name,
		    api_error_last());
		goto out;
	}
	if ((rc = api_age_keys_new(&c->keys)) < 0 ||
	    (rc = api_age_keys_new(&c->evkeys)) < 0)
		goto keys_out;
	/* newest first; the newest is most likely the recipient file's,
	 * which spares working out its public key */
	for (size_t i = ks.nn; rc == 0 && i > 0; i--)
		rc = api_age_keys_add_x25519_pk(c->keys, ks.note_sks + 32 * (i - 1),
		    i == ks.nn ? c->rpk[0] : NULL, API_AGE_PK_HINT);
	for (size_t i = ks.ne; rc == 0 && i > 0; i--)
		rc = api_age_keys_add_x25519_pk(c->evkeys,
		    ks.event_sks + 32 * (i - 1), i == ks.ne ? c->rpk[1] : NULL,
		    API_AGE_PK_HINT);
keys_out:
	api_keyset_free(&ks);
	if (rc < 0) {
		api_age_keys_free(c->keys);
		api_age_keys_free(c->evkeys);
		c->keys = c->evkeys = NULL;
	}
out:
	api_buf_free(&env);
	api_buf_free(&plain);
	return rc;
}

int
api_case_keys(api_case *c, const api_identity *me, api_keyset *k)
{
	api_buf env = { 0 }, plain = { 0 };
	char path[48];
	int rc;

	memset(k, 0, sizeof *k);
	plain.secret = 1;
	snprintf(path, sizeof path, "%s/key.age", c->dir);
	if ((rc = keys_of(&c->mine, me)) < 0 ||
	    (rc = api_store_read_ref(c->s, API_KEYS_REF, path, &env)) < 0)
		goto out;
	rc = api_age_decrypt_mem(c->mine, env.ptr, env.len, &plain, 65536,
	    API_AGE_BINARY);
	if (rc == API_EAGE_NOMATCH)
		rc = api_error_set(API_EPERM, "%s does not hold the keys of case "
		    "%s (not on its team, not a lead)", me->handle, c->id);
	else if (rc == 0 && (rc = api_envelope_parse((char *)plain.ptr, plain.len,
	    k)) < 0)
		rc = api_error_set(rc, "case %s: %s", c->id, api_error_last());
out:
	api_buf_free(&env);
	api_buf_free(&plain);
	return rc;
}

int
api_case_unlock(api_case *c, const api_identity *me)
{
	if (c->evkeys != NULL && !c->events_only)
		return API_OK;
	api_age_keys_free(c->keys);
	api_age_keys_free(c->evkeys);
	c->keys = c->evkeys = NULL;
	c->events_only = 0;
	return unlock(c, me, "key.age", "on the team");
}

int
api_case_unlock_events(api_case *c, const api_identity *me)
{
	int rc;

	if (c->evkeys != NULL)
		return API_OK;
	if ((rc = unlock(c, me, "events.age", "a reader of the events")) == 0)
		c->events_only = 1;
	return rc;
}

int
api_case_read(api_case *c, const api_identity *me, const char *kind,
    const char *name, api_record *r)
{
	int note = strcmp(kind, "notes") == 0;
	const char *suffix = note ? ".md.age" : ".age";
	char path[128], obj[API_OBJ_ID_LEN + 1];
	api_buf ct = { 0 };
	size_t nl = strlen(name), sl = strlen(suffix);
	api_age_keys *keys;
	const char *v;
	int rc;

	/* r's buffers are used again: reading many records costs no new
	 * secure memory (each allocation is several system calls) */
	api_buf text = r->text, plain = r->raw;
	memset(r, 0, sizeof *r);
	r->text = text;
	plain.secret = 1;
	plain.len = 0;
	if (nl != API_OBJ_ID_LEN + sl || strcmp(name + nl - sl, suffix) != 0)
		return api_error_set(API_EINVAL, "case %s: unexpected file %s/%s",
		    c->id, kind, name);
	memcpy(obj, name, API_OBJ_ID_LEN);
	obj[API_OBJ_ID_LEN] = '\0';
	snprintf(path, sizeof path, "%s/%s", kind, name);
	/* the notes/ or events/ tree read once for all its records */
	if (c->sub[!note] == NULL) {
		git_tree_entry *e = NULL;
		if (git_tree_entry_bypath(&e, c->tree, kind) == 0 &&
		    git_tree_entry_type(e) == GIT_OBJECT_TREE)
			git_tree_lookup(&c->sub[!note], api_store_repo(c->s),
			    git_tree_entry_id(e));
		git_tree_entry_free(e);
	}
	if ((rc = c->sub[!note] ? blob_read(api_store_repo(c->s), c->sub[!note],
	    name, &ct, (size_t)API_NOTE_MAX * 2) : blob_read(api_store_repo(c->s),
	    c->tree, path, &ct, (size_t)API_NOTE_MAX * 2)) < 0)
		goto out;
	/* the case keys: the team's envelope, else the events' one */
	if (c->evkeys == NULL && me != NULL &&
	    (rc = api_case_unlock(c, me)) == API_EPERM && !note)
		rc = api_case_unlock_events(c, me);
	keys = note ? c->keys : c->evkeys;
	if (keys == NULL || (note && c->events_only)) {
		if (rc == 0 || rc == API_EPERM)
			rc = api_error_set(API_EPERM, "%s/%s/%s: not readable with %s's "
			    "keys", c->dir, kind, name, me ? me->handle : "no");
		goto out;
	}
	rc = api_age_decrypt_mem(keys, ct.ptr, ct.len, &plain,
	    API_NOTE_MAX + 65536, API_AGE_BINARY);
	if (rc == API_EAGE_NOMATCH) {
		rc = api_error_set(API_EPERM, "%s/%s/%s: not readable with %s's "
		    "keys", c->dir, kind, name, me ? me->handle : "the case");
		goto out;
	}
	if (rc < 0) {
		rc = api_error_set(rc, "%s/%s/%s: %s", c->dir, kind, name,
		    api_error_last());
		goto out;
	}
	if ((rc = api_record_parse(r, plain.ptr, plain.len)) < 0) {
		rc = api_error_set(rc, "%s/%s/%s: %s", c->dir, kind, name,
		    api_error_last());
		goto out;
	}
	r->raw = plain;              /* the exact text, for --raw */
	memset(&plain, 0, sizeof plain);
	/* binding: the record names its case and itself */
	if ((v = api_record_get(r, "Case")) == NULL || strcmp(v, c->id) != 0 ||
	    (v = api_record_get(r, note ? "Note" : "Event")) == NULL ||
	    strcmp(v, obj) != 0) {
		api_record_free(r);
		rc = api_error_set(API_EINVAL, "%s/%s/%s: tampering: the record "
		    "names another case or object (moved ciphertext)", c->dir,
		    kind, name);
	}
out:
	api_buf_free(&ct);
	api_buf_free(&plain);
	return rc;
}

/* The case IDs under tree, levels shard levels down. */
static int
cases_walk(git_repository *repo, git_tree *tree, int levels,
    int (*fn)(void *ctx, const char *id), void *ctx)
{
	int rc = API_OK;

	for (size_t i = 0; rc == 0 && i < git_tree_entrycount(tree); i++) {
		const git_tree_entry *e = git_tree_entry_byindex(tree, i);
		git_tree *sub = NULL;
		if (levels == 0) {
			if (api_case_id_valid(git_tree_entry_name(e)))
				rc = fn(ctx, git_tree_entry_name(e));
			continue;
		}
		if (git_tree_entry_type(e) != GIT_OBJECT_TREE)
			continue;
		if (git_tree_lookup(&sub, repo, git_tree_entry_id(e)) < 0)
			return api_git_fail(API_EIO, "cases");
		rc = cases_walk(repo, sub, levels - 1, fn, ctx);
		git_tree_free(sub);
	}
	return rc;
}

int
api_cases_each(api_store *s, int (*fn)(void *ctx, const char *id), void *ctx)
{
	git_repository *repo = api_store_repo(s);
	git_tree *root = NULL, *cases = NULL;
	git_tree_entry *e = NULL;
	int rc = API_OK;

	if ((rc = api_store_tree(s, NULL, &root)) < 0)
		return rc;
	if (git_tree_entry_bypath(&e, root, "cases") < 0)
		goto out;            /* no case yet */
	if (git_tree_lookup(&cases, repo, git_tree_entry_id(e)) < 0)
		rc = api_git_fail(API_EIO, "cases");
	else
		rc = cases_walk(repo, cases, 2, fn, ctx);
out:
	git_tree_free(cases);
	git_tree_entry_free(e);
	git_tree_free(root);
	return rc;
}

/* ---- writing ------------------------------------------------------------- */

int
api_recipient_parse(const char *text, size_t len, unsigned char note_pk[32],
    unsigned char event_pk[32])
{
	char line[2][API_AGE_RECIPIENT_LEN + 1];
	size_t n = API_AGE_RECIPIENT_LEN;

	/* exactly "age1...\nage1...\n": the notes key, the events key */
	if (len != 2 * (n + 1) || text[n] != '\n' || text[2 * n + 1] != '\n')
		return api_error_set(API_EINVAL, "recipient: not two age1 lines");
	memcpy(line[0], text, n);
	memcpy(line[1], text + n + 1, n);
	line[0][n] = line[1][n] = '\0';
	if (api_age_recipient_parse(note_pk, line[0]) < 0 ||
	    api_age_recipient_parse(event_pk, line[1]) < 0)
		return api_error_set(API_EINVAL, "recipient: not age X25519 "
		    "recipients");
	return API_OK;
}

int
api_recipient_format(api_buf *out, const unsigned char note_pk[32],
    const unsigned char event_pk[32])
{
	char r[API_AGE_RECIPIENT_LEN + 2];
	int rc;

	api_age_recipient_encode(r, note_pk);
	strcat(r, "\n");
	if ((rc = api_buf_append(out, r, strlen(r))) < 0)
		return rc;
	api_age_recipient_encode(r, event_pk);
	strcat(r, "\n");
	return api_buf_append(out, r, strlen(r));
}

/* Appends the age key of handle (active staff) to *pks unless there. */
static int
add_pk(const api_staff_list *staff, const char *handle,
    unsigned char (**pks)[32], size_t *n)
{
	long k = api_staff_find(staff, handle);
	unsigned char (*v)[32];

	if (k < 0 || staff->v[k].valid_until[0])
		return api_error_set(API_EINVAL, "%s is not an active member of "
		    "staff", handle);
	for (size_t i = 0; i < *n; i++)
		if (memcmp((*pks)[i], staff->v[k].pub.age_pk, 32) == 0)
			return API_OK;
	if ((v = realloc(*pks, (*n + 1) * 32)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	*pks = v;
	memcpy(v[(*n)++], staff->v[k].pub.age_pk, 32);
	return API_OK;
}

int
api_envelope_recipients(const api_team *team, const api_staff_list *staff,
    int events, unsigned char (**pks)[32], size_t *n)
{
	int rc = API_OK;

	*pks = NULL;
	*n = 0;
	if (team->n == 0)
		return api_error_set(API_EINVAL, "empty team");
	for (size_t i = 0; rc == 0 && i < team->n; i++)
		rc = add_pk(staff, team->member[i], pks, n);
	/* leads hold every case's keys, so that they can assign any case;
	 * service staff and admins only the events keys (reminders, and the
	 * retention review an admin's purge depends on), and auditors too
	 * (the evaluation statistics of api-export --stats) */
	for (size_t i = 0; rc == 0 && i < staff->n; i++)
		if (staff->v[i].valid_until[0] == '\0' &&
		    (strcmp(staff->v[i].role, "lead") == 0 ||
		    (events && (strcmp(staff->v[i].role, "service") == 0 ||
		    strcmp(staff->v[i].role, "admin") == 0 ||
		    strcmp(staff->v[i].role, "auditor") == 0))))
			rc = add_pk(staff, staff->v[i].handle, pks, n);
	if (rc < 0) {
		free(*pks);
		*pks = NULL;
		*n = 0;
	}
	return rc;
}

/* "# section" and the keys, one AGE-SECRET-KEY-1 line each */
static int
keys_text(api_buf *plain, const char *section, const unsigned char *sks,
    size_t n)
{
	char line[API_AGE_IDENTITY_LEN + 80];
	int rc;

	snprintf(line, sizeof line, "# %s\n", section);
	rc = api_buf_append(plain, line, strlen(line));
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if ((rc = api_age_identity_encode(line, sks + 32 * i)) < 0)
			break;
		strcat(line, "\n");
		rc = api_buf_append(plain, line, strlen(line));
	}
	sodium_memzero(line, sizeof line);
	return rc;
}

int
api_envelope(api_buf *out, const char *comment, const unsigned char *note_sks,
    size_t nn, const unsigned char *event_sks, size_t ne,
    const unsigned char (*pks)[32], size_t npk)
{
	api_buf plain = { 0 };
	char line[128];
	int rc;

	plain.secret = 1;
	snprintf(line, sizeof line, "# %s\n", comment);
	if ((rc = api_buf_append(&plain, line, strlen(line))) == 0 &&
	    (nn == 0 || (rc = keys_text(&plain, "notes", note_sks, nn)) == 0) &&
	    (rc = keys_text(&plain, "events", event_sks, ne)) == 0)
		rc = api_age_encrypt_mem(pks, npk, plain.ptr, plain.len, out, 0);
	api_buf_free(&plain);
	return rc;
}

int
api_envelope_parse(const char *text, size_t len, api_keyset *k)
{
	const char *p = text, *end = text + len;
	int section = -1, rc = API_OK;

	memset(k, 0, sizeof *k);
	if ((k->note_sks = api_secret_alloc(API_MAX_KEYS * 32)) == NULL ||
	    (k->event_sks = api_secret_alloc(API_MAX_KEYS * 32)) == NULL) {
		api_keyset_free(k);
		return api_error_set(API_ENOMEM, "out of secure memory");
	}
	while (p < end && rc == 0) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char line[API_AGE_IDENTITY_LEN + 1];
		if (n == 7 && memcmp(p, "# notes", 7) == 0)
			section = 0;
		else if (n == 8 && memcmp(p, "# events", 8) == 0)
			section = 1;
		else if (n == API_AGE_IDENTITY_LEN && section >= 0) {
			size_t *cnt = section ? &k->ne : &k->nn;
			unsigned char *dst = section ? k->event_sks : k->note_sks;
			memcpy(line, p, n);
			line[n] = '\0';
			if (*cnt == API_MAX_KEYS)
				rc = api_error_set(API_EINVAL, "envelope: too many keys");
			else if ((rc = api_age_identity_parse(dst + 32 * *cnt,
			    line)) == 0)
				(*cnt)++;
			sodium_memzero(line, sizeof line);
		} else if (n > 0 && *p != '#')
			rc = api_error_set(API_EINVAL, "envelope: unexpected line");
		p += n + 1;
	}
	if (rc == 0 && k->ne == 0)
		rc = api_error_set(API_EINVAL, "envelope: no events key");
	if (rc < 0)
		api_keyset_free(k);
	return rc;
}

void
api_keyset_free(api_keyset *k)
{
	api_secret_free(k->note_sks, API_MAX_KEYS * 32);
	api_secret_free(k->event_sks, API_MAX_KEYS * 32);
	memset(k, 0, sizeof *k);
}

int
api_keyfor_format(api_buf *out, const api_buf *recipient, const api_buf *team)
{
	git_oid r, t;
	char line[2 * GIT_OID_HEXSZ + 32];

	if (git_odb_hash(&r, recipient->ptr, recipient->len, GIT_OBJECT_BLOB) < 0 ||
	    git_odb_hash(&t, team->ptr, team->len, GIT_OBJECT_BLOB) < 0)
		return api_git_fail(API_EIO, "key.for");
	snprintf(line, sizeof line, "recipient %s\n", git_oid_tostr_s(&r));
	snprintf(line + strlen(line), sizeof line - strlen(line), "team %s\n",
	    git_oid_tostr_s(&t));
	return api_buf_append(out, line, strlen(line));
}

int
api_keyfor_of(git_tree *tree, const char *dir, api_buf *out)
{
	static const char *const names[] = { "recipient", "team" };
	char path[64], line[GIT_OID_HEXSZ + 32];

	for (int i = 0; i < 2; i++) {
		git_tree_entry *e = NULL;
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if (git_tree_entry_bypath(&e, tree, path) < 0)
			return api_error_set(API_ENOTFOUND, "no %s", path);
		snprintf(line, sizeof line, "%s %s\n", names[i],
		    git_oid_tostr_s(git_tree_entry_id(e)));
		git_tree_entry_free(e);
		if (api_buf_append(out, line, strlen(line)) < 0)
			return API_ENOMEM;
	}
	return 0;
}

int
api_case_entry_id(api_case *c, const char *name, git_oid *out)
{
	const git_tree_entry *e = git_tree_entry_byname(c->tree, name);

	if (e == NULL)
		return api_error_set(API_ENOTFOUND, "case %s has no %s", c->id, name);
	git_oid_cpy(out, git_tree_entry_id(e));
	return 0;
}

int
api_tx_remove_envelopes(api_tx *tx, const char *id, int *found)
{
	static const char *const names[] = { "key.age", "events.age", "key.for" };
	char dir[32], path[48];
	int rc = 0;

	*found = 0;
	api_case_dir(dir, id);
	for (int i = 0; i < 3 && rc == 0; i++) {
		api_buf b = { 0 };
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((rc = api_tx_read(tx, path, &b)) == 0) {
			(*found)++;
			rc = api_tx_remove(tx, path);
		} else if (rc == API_ENOTFOUND)
			rc = 0;
		api_buf_free(&b);
	}
	return rc;
}

/* key.for of case id, for mainteam and the newest keys of the set. */
static int
put_keyfor(api_tx *tx, const char *dir, const unsigned char *note_sk,
    const unsigned char *event_sk, const api_team *mainteam)
{
	unsigned char npk[32], epk[32];
	api_buf r = { 0 }, t = { 0 }, f = { 0 };
	char path[48];
	int rc;

	if (crypto_scalarmult_base(npk, note_sk) != 0 ||
	    crypto_scalarmult_base(epk, event_sk) != 0)
		return api_error_set(API_EINVAL, "bad case key");
	snprintf(path, sizeof path, "%s/key.for", dir);
	if ((rc = api_recipient_format(&r, npk, epk)) == 0 &&
	    (rc = api_team_format(mainteam, &t)) == 0 &&
	    (rc = api_keyfor_format(&f, &r, &t)) == 0)
		rc = api_tx_put(tx, path, f.ptr, f.len);
	api_buf_free(&r);
	api_buf_free(&t);
	api_buf_free(&f);
	return rc;
}

int
api_tx_put_envelopes(api_tx *tx, const char *id, const unsigned char *note_sks,
    size_t nn, const unsigned char *event_sks, size_t ne, const api_team *team,
    const api_team *mainteam, const api_staff_list *staff)
{
	unsigned char (*pks)[32] = NULL;
	char dir[32], path[48], comment[64];
	api_buf env = { 0 };
	size_t npk;
	int rc;

	api_case_dir(dir, id);
	/* key.age: every key of the case, for its team and the leads */
	snprintf(comment, sizeof comment, "api case keys: %s", id);
	snprintf(path, sizeof path, "%s/key.age", dir);
	if ((rc = api_envelope_recipients(team, staff, 0, &pks, &npk)) < 0 ||
	    (rc = api_envelope(&env, comment, note_sks, nn, event_sks, ne,
	    (const unsigned char (*)[32])pks, npk)) < 0 ||
	    (rc = api_tx_put(tx, path, env.ptr, env.len)) < 0)
		goto out;
	free(pks);
	pks = NULL;
	env.len = 0;
	/* events.age: the events keys, also for leads and service staff */
	snprintf(comment, sizeof comment, "api case events keys: %s", id);
	snprintf(path, sizeof path, "%s/events.age", dir);
	if ((rc = api_envelope_recipients(team, staff, 1, &pks, &npk)) < 0 ||
	    (rc = api_envelope(&env, comment, NULL, 0, event_sks, ne,
	    (const unsigned char (*)[32])pks, npk)) < 0 ||
	    (rc = api_tx_put(tx, path, env.ptr, env.len)) < 0)
		goto out;
	rc = put_keyfor(tx, dir, note_sks + 32 * (nn - 1), event_sks + 32 *
	    (ne - 1), mainteam ? mainteam : team);
out:
	free(pks);
	api_buf_free(&env);
	return rc;
}

int
api_tx_put_record(api_tx *tx, const char *path, const api_buf *plain,
    const unsigned char (*pks)[32], size_t n)
{
	api_buf ct = { 0 };
	int rc;

	if ((rc = api_age_encrypt_mem(pks, n, plain->ptr, plain->len, &ct,
	    0)) == 0)
		rc = api_tx_put(tx, path, ct.ptr, ct.len);
	api_buf_free(&ct);
	return rc;
}

int
api_tx_case(api_tx *tx, const char *id, const api_identity *me,
    api_case_w *w)
{
	api_staff_list l = { 0 };
	api_buf b = { 0 };
	char path[48];
	int rc;

	memset(w, 0, sizeof *w);
	api_case_dir(w->dir, id);
	snprintf(path, sizeof path, "%s/team", w->dir);
	if ((rc = api_tx_read(tx, path, &b)) < 0) {
		rc = api_error_set(rc == API_ENOTFOUND ? API_ENOTFOUND : rc,
		    "no case %s in this store", id);
		goto out;
	}
	{
		api_buf pb = { 0 };
		snprintf(path, sizeof path, "%s/purged", w->dir);
		rc = api_tx_read(tx, path, &pb);
		api_buf_free(&pb);
		if (rc == 0) {
			rc = api_error_set(API_EPERM, "case %s was purged; nothing "
			    "more can be written to it", id);
			goto out;
		}
	}
	if ((rc = api_team_parse(&w->team, (char *)b.ptr, b.len)) < 0 ||
	    (rc = api_tx_staff(tx, &l)) < 0 ||
	    (rc = api_staff_require(&l, me, "caseworker lead admin")) < 0)
		goto out;
	if (!api_team_has(&w->team, me->handle) &&
	    api_staff_require(&l, me, "lead admin") < 0) {
		rc = api_error_set(API_EPERM, "%s is not on the team of case %s",
		    me->handle, id);
		goto out;
	}
	b.len = 0;
	snprintf(path, sizeof path, "%s/recipient", w->dir);
	if ((rc = api_tx_read(tx, path, &b)) < 0)
		goto out;
	if ((rc = api_recipient_parse((char *)b.ptr, b.len, w->note_pk,
	    w->event_pk)) < 0)
		rc = api_error_set(rc, "case %s: %s", id, api_error_last());
out:
	api_staff_list_free(&l);
	api_buf_free(&b);
	if (rc < 0)
		api_case_w_free(w);
	return rc;
}

void
api_case_w_free(api_case_w *w)
{
	api_team_free(&w->team);
}
