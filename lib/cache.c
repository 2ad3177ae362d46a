/*
 * cache.c - the state of each case, kept between runs of api-status.
 *
 * Working out a case's phase and dates decrypts every event of it: one
 * X25519 per file.  The result depends only on the case's events/ tree
 * and its team file, so it is kept under the blob ids of both, and used
 * again while neither has changed.  The cache is one age file per store
 * and identity in $XDG_CACHE_HOME/api (else ~/.cache/api), encrypted to
 * that identity's own key: nothing readable about a case is on disk.  A
 * cache that is missing, of another format, or fails to decrypt is
 * ignored and made again; API_CACHE=0 in the environment turns it off.
 *
 * A whole run is kept too: the key of main's cases/ tree (with who asked
 * and how) and which cases it listed.  While that tree is the same,
 * nothing of any case has changed, so the next such run takes every
 * state from here without opening a single case.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <git2.h>
#include <sodium.h>

#include "api.h"

#define MAGIC "api state cache 2\n"

struct entry {
	unsigned char key[32];       /* of the events tree and the team */
	unsigned char listed;        /* in the last whole run (run_key) */
	api_case_state st;
};

/* After MAGIC: the key of the last whole run whose cases are marked
 * listed (zero: none). */
struct head {
	unsigned char run_key[32];
};

struct api_state_cache {
	const api_identity *me;
	char path[PATH_MAX + 64];
	struct head h;
	struct entry *v;             /* sorted by case ID */
	size_t n, cap;
	int changed, off;
};

static int
cmp_entry(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->st.id,
	    ((const struct entry *)b)->st.id);
}

/* $XDG_CACHE_HOME/api (made 0700), else ~/.cache/api; 0 or -1. */
static int
cache_dir(char *out, size_t cap)
{
	const char *x = getenv("XDG_CACHE_HOME"), *h = getenv("HOME");
	char base[PATH_MAX];

	if (x && *x == '/')
		snprintf(base, sizeof base, "%s", x);
	else if (h && *h == '/')
		snprintf(base, sizeof base, "%s/.cache", h);
	else
		return -1;
	if ((size_t)snprintf(out, cap, "%s/api", base) >= cap)
		return -1;
	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return -1;
	if (mkdir(out, 0700) < 0 && errno != EEXIST)
		return -1;
	return 0;
}

int
api_state_cache_open(api_store *s, const api_identity *me,
    api_state_cache **out)
{
	api_state_cache *c;
	api_age_keys *k = NULL;
	api_buf ct = { 0 }, pt = { 0 };
	unsigned char h[crypto_hash_sha256_BYTES];
	char dir[PATH_MAX], hex[2 * 12 + 1], real[PATH_MAX];
	const char *p = getenv("API_CACHE");
	crypto_hash_sha256_state hs;

	*out = NULL;
	if ((c = calloc(1, sizeof *c)) == NULL)
		return api_error_set(API_ENOMEM, "out of memory");
	c->me = me;
	*out = c;
	if ((p && strcmp(p, "0") == 0) || cache_dir(dir, sizeof dir) < 0) {
		c->off = 1;
		return 0;
	}
	/* one file per store and identity */
	if (realpath(git_repository_path(api_store_repo(s)), real) == NULL)
		snprintf(real, sizeof real, "%s", api_store_path(s));
	crypto_hash_sha256_init(&hs);
	crypto_hash_sha256_update(&hs, (const unsigned char *)real, strlen(real));
	crypto_hash_sha256_update(&hs, me->age_pk, sizeof me->age_pk);
	crypto_hash_sha256_final(&hs, h);
	sodium_bin2hex(hex, sizeof hex, h, 12);
	snprintf(c->path, sizeof c->path, "%s/state-%s.age", dir, hex);
	pt.secret = 1;
	if (api_file_read(c->path, &ct, (size_t)1 << 30) == 0 &&
	    api_identity_keys(me, &k) == 0 &&
	    api_age_decrypt_mem(k, ct.ptr, ct.len, &pt, (size_t)1 << 30, 0) == 0 &&
	    pt.len >= sizeof MAGIC - 1 &&
	    memcmp(pt.ptr, MAGIC, sizeof MAGIC - 1) == 0 &&
	    pt.len >= sizeof MAGIC - 1 + sizeof c->h &&
	    (pt.len - (sizeof MAGIC - 1) - sizeof c->h) % sizeof(struct entry) ==
	    0) {
		const unsigned char *p0 = pt.ptr + sizeof MAGIC - 1;
		size_t m = (pt.len - (sizeof MAGIC - 1) - sizeof c->h) /
		    sizeof(struct entry);
		memcpy(&c->h, p0, sizeof c->h);
		if (m > 0 && (c->v = sodium_malloc(m * sizeof *c->v)) != NULL) {
			memcpy(c->v, p0 + sizeof c->h, m * sizeof *c->v);
			c->n = c->cap = m;
			/* strings as this build expects them */
			for (size_t i = 0; i < m; i++) {
				api_case_state *st = &c->v[i].st;
				st->id[sizeof st->id - 1] = st->lead[sizeof st->lead - 1] =
				    st->phase[sizeof st->phase - 1] =
				    st->prev[sizeof st->prev - 1] =
				    st->reason[sizeof st->reason - 1] = '\0';
			}
			qsort(c->v, c->n, sizeof *c->v, cmp_entry);
		}
	}
	api_error_clear();
	api_age_keys_free(k);
	api_buf_free(&ct);
	api_buf_free(&pt);
	return 0;
}

int
api_state_cache_key(api_case *cs, unsigned char key[32])
{
	git_oid ev, team;
	crypto_hash_sha256_state hs;

	if (api_case_entry_id(cs, "events", &ev) < 0 ||
	    api_case_entry_id(cs, "team", &team) < 0)
		return -1;
	crypto_hash_sha256_init(&hs);
	crypto_hash_sha256_update(&hs, ev.id, sizeof ev.id);
	crypto_hash_sha256_update(&hs, team.id, sizeof team.id);
	crypto_hash_sha256_final(&hs, key);
	return 0;
}

static struct entry *
find(api_state_cache *c, const char *id)
{
	struct entry want;

	if (c->n == 0)
		return NULL;
	snprintf(want.st.id, sizeof want.st.id, "%s", id);
	return bsearch(&want, c->v, c->n, sizeof *c->v, cmp_entry);
}

int
api_state_cache_get(api_state_cache *c, const char *id,
    const unsigned char key[32], api_case_state *st)
{
	struct entry *e;

	if (c == NULL || c->off || (e = find(c, id)) == NULL ||
	    sodium_memcmp(e->key, key, 32) != 0)
		return 0;
	*st = e->st;
	return 1;
}

/* A purged case keeps nothing here either: its entry is wiped. */
void
api_state_cache_drop(api_state_cache *c, const char *id)
{
	struct entry *e;
	size_t i;

	if (c == NULL || c->off || (e = find(c, id)) == NULL)
		return;
	i = (size_t)(e - c->v);
	memmove(e, e + 1, (c->n - i - 1) * sizeof *e);
	c->n--;
	sodium_memzero(&c->v[c->n], sizeof *c->v);
	c->changed = 1;
}

int
api_state_cache_put(api_state_cache *c, const unsigned char key[32],
    const api_case_state *st)
{
	struct entry *e;

	if (c == NULL || c->off)
		return 0;
	if ((e = find(c, st->id)) == NULL) {
		size_t lo = 0, hi = c->n;
		if (c->n == c->cap) {
			size_t cap = c->cap ? 2 * c->cap : 256;
			struct entry *v = sodium_malloc(cap * sizeof *v);
			if (v == NULL)
				return api_error_set(API_ENOMEM, "out of memory");
			if (c->n)
				memcpy(v, c->v, c->n * sizeof *v);
			sodium_free(c->v);
			c->v = v;
			c->cap = cap;
		}
		/* kept sorted: where the ID goes (cases come in tree order,
		 * so mostly at the end) */
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (strcmp(c->v[mid].st.id, st->id) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		memmove(&c->v[lo + 1], &c->v[lo], (c->n - lo) * sizeof *c->v);
		c->n++;
		e = &c->v[lo];
		memset(e, 0, sizeof *e);
	}
	e->st = *st;
	memcpy(e->key, key, 32);
	c->changed = 1;
	return 0;
}

int
api_state_cache_run_key(api_store *s, const char *how, unsigned char key[32])
{
	git_tree *t = NULL;
	const git_tree_entry *e;
	crypto_hash_sha256_state hs;
	int rc = -1;

	if (api_store_tree(s, NULL, &t) < 0)
		return -1;
	if ((e = git_tree_entry_byname(t, "cases")) != NULL) {
		crypto_hash_sha256_init(&hs);
		crypto_hash_sha256_update(&hs, git_tree_entry_id(e)->id, GIT_OID_RAWSZ);
		crypto_hash_sha256_update(&hs, (const unsigned char *)how,
		    strlen(how) + 1);
		crypto_hash_sha256_final(&hs, key);
		rc = 0;
	}
	git_tree_free(t);
	api_error_clear();
	return rc;
}

int
api_state_cache_run_get(api_state_cache *c, const unsigned char key[32],
    api_case_state **states, size_t *n)
{
	static const unsigned char zero[32];
	size_t k = 0;

	*states = NULL;
	*n = 0;
	if (c == NULL || c->off || sodium_memcmp(c->h.run_key, zero, 32) == 0 ||
	    sodium_memcmp(c->h.run_key, key, 32) != 0)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		k += c->v[i].listed;
	if (k > 0 && (*states = sodium_malloc(k * sizeof **states)) == NULL)
		return 0;
	for (size_t i = 0; i < c->n; i++)
		if (c->v[i].listed)
			(*states)[(*n)++] = c->v[i].st;
	return 1;
}

int
api_state_cache_run_put(api_state_cache *c, const unsigned char key[32],
    char (*ids)[API_CASE_ID_LEN + 1], size_t n)
{
	struct entry *e;

	size_t was = 0;

	/* a run of no case costs nothing: not worth a file */
	if (c == NULL || c->off || n == 0)
		return 0;
	for (size_t i = 0; i < c->n; i++) {
		was += c->v[i].listed;
		c->v[i].listed = 0;
	}
	for (size_t i = 0; i < n; i++) {
		if ((e = find(c, ids[i])) == NULL) {
			/* a case without a state here: no whole run */
			memset(c->h.run_key, 0, 32);
			c->changed = 1;
			return 0;
		}
		c->changed |= !e->listed;
		e->listed = 1;
	}
	c->changed |= was != n || memcmp(c->h.run_key, key, 32) != 0;
	memcpy(c->h.run_key, key, 32);
	return 0;
}

/*
 * The cache is encrypted in memory first; only the finished ciphertext
 * goes to disk, by api_file_write (a temporary file beside the cache,
 * mode 0600, renamed over it), so that a reader never sees half a file.
 * Neither file ever holds a byte of plaintext.
 */
int
api_state_cache_save(api_state_cache *c)
{
	api_age_enc *e = NULL;
	api_buf ct = { 0 };
	int rc;

	if (c == NULL || c->off || !c->changed)
		return 0;
	rc = api_age_enc_new(&e, (const unsigned char (*)[32])c->me->age_pk, 1,
	    api_buf_write, &ct, 0);
	if (rc == 0)
		rc = api_age_enc_write(e, MAGIC, sizeof MAGIC - 1);
	if (rc == 0)
		rc = api_age_enc_write(e, &c->h, sizeof c->h);
	if (rc == 0 && c->n)
		rc = api_age_enc_write(e, c->v, c->n * sizeof *c->v);
	if (rc == 0)
		rc = api_age_enc_close(e);
	api_age_enc_free(e);
	/* a cache that cannot be written is no cache: no error */
	if (rc == 0)
		(void)api_file_write(c->path, ct.ptr, ct.len, 0600, 0);
	api_buf_free(&ct);
	api_error_clear();
	return 0;
}

void
api_state_cache_free(api_state_cache *c)
{
	if (c == NULL)
		return;
	sodium_free(c->v);
	free(c);
}
