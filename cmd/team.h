/*
 * team.h - api-grant and api-revoke: change who works a case.
 *
 * Both rewrite the case's key envelopes on API_KEYS_REF for the new team
 * first, then record the team on main; when the second write fails, the
 * envelopes are put back as they were.  A revoke also makes new notes and
 * events keys, so that nothing written afterwards can be read with a
 * revoked identity; with --reencrypt every file of the case is encrypted
 * again to the new keys.
 */
#ifndef API_TEAM_H
#define API_TEAM_H

#include <getopt.h>

#include "cli.h"

struct teamop {
	int revoke, reencrypt;
	int nh;                              /* handles given; 0: re-key */
	const api_identity *me;
	const api_staff_list *staff;
	api_case *cs;
	const char *id;
	api_team team;                       /* the new team */
	api_team active;                     /* its active members, where */
	const api_team *envteam;             /* the envelopes go: team or active */
	api_keyset keys;                     /* every key, new ones last */
	unsigned char note_pk[32], event_pk[32];
	char object[256];                    /* "team +h -h" */
	api_buf old_key, old_events, old_for; /* the envelopes, for undo */
	api_buf new_key, new_events;         /* the envelopes this run wrote */
	int undo, superseded;
};

/* 1 when the case's envelopes on the tip are key and events (byte for
 * byte; both empty: there are none). */
static int
same_envelopes(api_tx *tx, const char *dir, const api_buf *key,
    const api_buf *events)
{
	const api_buf *mine[2] = { key, events };
	static const char *names[2] = { "key.age", "events.age" };
	char path[48];
	int same = 1, rc = 0;

	for (int i = 0; i < 2 && same && rc == 0; i++) {
		api_buf b = { 0 };
		snprintf(path, sizeof path, "%s/%s", dir, names[i]);
		if ((rc = api_tx_read(tx, path, &b)) == 0)
			same = b.len == mine[i]->len &&
			    memcmp(b.ptr, mine[i]->ptr, b.len) == 0;
		else if (rc == API_ENOTFOUND)
			rc = 0, same = mine[i]->len == 0;
		api_buf_free(&b);
	}
	return rc < 0 ? rc : same;
}

/* key.for for a grant: main's recipient, which a grant leaves as it is,
 * and the new team.  The newest keys in the envelopes are not always
 * main's: a revoke killed between its two writes leaves new keys that
 * main never names. */
static int
grant_keyfor(struct teamop *op, api_tx *tx, const char *dir)
{
	api_buf t = { 0 };
	git_oid rid, tid;
	char path[48], r[GIT_OID_HEXSZ + 1], h[GIT_OID_HEXSZ + 1];
	char line[2 * GIT_OID_HEXSZ + 32];
	int rc;

	if ((rc = api_case_entry_id(op->cs, "recipient", &rid)) < 0 ||
	    (rc = api_team_format(&op->team, &t)) < 0)
		goto out;
	if (git_odb_hash(&tid, t.ptr, t.len, GIT_OBJECT_BLOB) < 0) {
		rc = api_git_fail(API_EIO, "key.for");
		goto out;
	}
	snprintf(line, sizeof line, "recipient %s\nteam %s\n",
	    git_oid_tostr(r, sizeof r, &rid), git_oid_tostr(h, sizeof h, &tid));
	snprintf(path, sizeof path, "%s/key.for", dir);
	rc = api_tx_put(tx, path, line, strlen(line));
out:
	api_buf_free(&t);
	return rc;
}

static int
team_build_keys(void *ctx, api_tx *tx)
{
	struct teamop *op = ctx;
	char dir[32], path[48];
	int rc;

	api_case_dir(dir, op->id);
	if (op->undo) {
		/* another grant or revoke wrote the envelopes after this one:
		 * they hold every key this one's did and the keys main names
		 * now, so they stay; putting back the old ones would lock the
		 * team out of what is written to the new keys */
		if ((rc = same_envelopes(tx, dir, &op->new_key,
		    &op->new_events)) <= 0) {
			if (rc == 0)
				op->superseded = 1;
			return rc < 0 ? rc : api_error_set(API_EINVAL, "superseded");
		}
		snprintf(path, sizeof path, "%s/key.age", dir);
		if ((rc = api_tx_put(tx, path, op->old_key.ptr, op->old_key.len)) < 0)
			return rc;
		snprintf(path, sizeof path, "%s/events.age", dir);
		if ((rc = api_tx_put(tx, path, op->old_events.ptr,
		    op->old_events.len)) < 0)
			return rc;
		snprintf(path, sizeof path, "%s/key.for", dir);
		if ((rc = op->old_for.len ? api_tx_put(tx, path, op->old_for.ptr,
		    op->old_for.len) : api_tx_remove(tx, path)) < 0)
			return rc;
		return api_tx_message(tx, "keys: case keys put back (team not "
		    "changed)", "case-key-undo", op->id, NULL);
	}
	/* the keys were read from these envelopes: if another grant or
	 * revoke has written them since, writing these would drop its keys */
	if ((rc = same_envelopes(tx, dir, &op->old_key, &op->old_events)) < 0)
		return rc;
	if (rc == 0)
		return api_error_set(API_EINVAL, "the keys of case %s changed "
		    "meanwhile; run the command again", op->id);
	if ((rc = api_tx_put_envelopes(tx, op->id, op->keys.note_sks,
	    op->keys.nn, op->keys.event_sks, op->keys.ne, op->envteam,
	    &op->team, op->staff)) < 0)
		return rc;
	if (!op->revoke && (rc = grant_keyfor(op, tx, dir)) < 0)
		return rc;
	/* kept to tell, on undo, whether they are still the current ones */
	op->new_key.len = op->new_events.len = 0;
	snprintf(path, sizeof path, "%s/key.age", dir);
	if ((rc = api_tx_read(tx, path, &op->new_key)) < 0)
		return rc;
	snprintf(path, sizeof path, "%s/events.age", dir);
	if ((rc = api_tx_read(tx, path, &op->new_events)) < 0)
		return rc;
	return api_tx_message(tx, "keys: case keys written", "case-key", op->id,
	    NULL);
}

/* Every note and event of the case again, to the new keys. */
static int
reencrypt(struct teamop *op, api_tx *tx, const char *dir)
{
	static const char *kinds[] = { "notes", "events" };
	int rc = 0;

	for (int k = 0; k < 2 && rc == 0; k++) {
		char **names = NULL, **now = NULL, path[128];
		size_t n = 0, nnow = 0;
		if ((rc = api_case_files(op->cs, kinds[k], &names, &n)) < 0)
			return rc;
		/* the files as read must be all there are: one added since
		 * (encrypted to the old key) would be left behind */
		snprintf(path, sizeof path, "%s/%s", dir, kinds[k]);
		if ((rc = api_tx_list(tx, path, &now, &nnow)) == 0 && nnow != n)
			rc = api_error_set(API_EINVAL, "case %s changed meanwhile; run "
			    "the command again", op->id);
		for (size_t i = 0; i < nnow; i++) {
			if (rc == 0 && strcmp(now[i], names[i]) != 0)
				rc = api_error_set(API_EINVAL, "case %s changed meanwhile; "
				    "run the command again", op->id);
			free(now[i]);
		}
		free(now);
		for (size_t i = 0; i < n; i++) {
			api_record r = { 0 };
			if (rc == 0 && (rc = api_case_read(op->cs, op->me, kinds[k],
			    names[i], &r)) == 0) {
				snprintf(path, sizeof path, "%s/%s/%s", dir, kinds[k],
				    names[i]);
				rc = api_tx_put_record(tx, path, &r.raw,
				    (const unsigned char (*)[32])(k ? op->event_pk :
				    op->note_pk), 1);
				api_record_free(&r);
			}
			free(names[i]);
		}
		free(names);
	}
	return rc;
}

static int
team_build_main(void *ctx, api_tx *tx)
{
	struct teamop *op = ctx;
	api_buf b = { 0 };
	char path[128];
	api_case_w w;
	int rc;

	if ((rc = api_tx_case(tx, op->id, op->me, &w)) < 0)
		return rc;
	/* the team must be as it was read: else start again */
	if (w.team.n != api_case_team(op->cs)->n) {
		rc = api_error_set(API_EINVAL, "the team of case %s changed "
		    "meanwhile; run the command again", op->id);
		goto out;
	}
	for (size_t i = 0; i < w.team.n; i++)
		if (strcmp(w.team.member[i], api_case_team(op->cs)->member[i])) {
			rc = api_error_set(API_EINVAL, "the team of case %s changed "
			    "meanwhile; run the command again", op->id);
			goto out;
		}
	snprintf(path, sizeof path, "%s/team", w.dir);
	if ((rc = api_team_format(&op->team, &b)) < 0 ||
	    (rc = api_tx_put(tx, path, b.ptr, b.len)) < 0)
		goto out;
	if (op->revoke) {
		b.len = 0;
		snprintf(path, sizeof path, "%s/recipient", w.dir);
		if ((rc = api_recipient_format(&b, op->note_pk, op->event_pk)) < 0 ||
		    (rc = api_tx_put(tx, path, b.ptr, b.len)) < 0)
			goto out;
		if (op->reencrypt && (rc = reencrypt(op, tx, w.dir)) < 0)
			goto out;
	}
	if (op->revoke && op->nh == 0)
		/* the team as it is, new keys: a leaving lead held the old */
		rc = api_tx_message(tx, "team: case keys renewed", op->reencrypt ?
		    "revoke-reencrypt" : "rekey", op->id, NULL);
	else
		rc = api_tx_message(tx, op->revoke ? "team: access revoked" :
		    "team: access granted", op->revoke ? (op->reencrypt ?
		    "revoke-reencrypt" : "revoke") : "grant", op->id, op->object);
out:
	api_buf_free(&b);
	api_case_w_free(&w);
	return rc;
}

/* How many active leads there are other than handle. */
static size_t
other_leads(const api_staff_list *l, const char *handle)
{
	size_t n = 0;

	for (size_t i = 0; i < l->n; i++)
		if (!l->v[i].valid_until[0] && strcmp(l->v[i].role, "lead") == 0 &&
		    strcmp(l->v[i].handle, handle) != 0)
			n++;
	return n;
}

/* The new team: grant adds, revoke removes; dies on a bad handle. */
static void
new_team(struct teamop *op, char **handles, int n)
{
	const api_team *t = api_case_team(op->cs);
	size_t len = (size_t)snprintf(op->object, sizeof op->object, "team");

	for (int i = 0; i < n; i++) {
		long k = api_staff_find(op->staff, handles[i]);
		int again = 0;
		/* a handle given twice counts once, in the trailer too */
		for (int j = 0; j < i; j++)
			again |= strcmp(handles[i], handles[j]) == 0;
		if (again)
			continue;
		if (len + strlen(handles[i]) + 3 >= sizeof op->object)
			cli_die("too many handles");
		len += (size_t)snprintf(op->object + len, sizeof op->object - len,
		    " %c%s", op->revoke ? '-' : '+', handles[i]);
		if (op->revoke) {
			if (!api_team_has(t, handles[i]))
				cli_die("%s is not on the team of case %s", handles[i],
				    op->id);
			continue;
		}
		if (k < 0)
			cli_die("%s: no such member of staff", handles[i]);
		if (op->staff->v[k].valid_until[0])
			cli_die("%s was retired on %s", handles[i],
			    op->staff->v[k].valid_until);
		if (strcmp(op->staff->v[k].role, "caseworker") != 0 &&
		    strcmp(op->staff->v[k].role, "lead") != 0 &&
		    strcmp(op->staff->v[k].role, "admin") != 0)
			cli_die("%s has role %s; a case team needs caseworkers, leads "
			    "or admins", handles[i], op->staff->v[k].role);
		if (api_team_has(t, handles[i]))
			cli_die("%s is on the team of case %s already", handles[i],
			    op->id);
	}
	for (size_t i = 0; i < t->n; i++) {
		int gone = 0;
		for (int j = 0; op->revoke && j < n; j++)
			gone |= strcmp(t->member[i], handles[j]) == 0;
		if (!gone && api_team_add(&op->team, t->member[i]) < 0)
			cli_die_lib();
	}
	for (int j = 0; !op->revoke && j < n; j++)
		if (api_team_add(&op->team, handles[j]) < 0)
			cli_die_lib();
	if (op->team.n == 0)
		cli_die("revoking the last member of case %s's team; grant access "
		    "to someone else first (api grant %s HANDLE)", op->id, op->id);
	/* a team whose members have all retired: revoking them would leave
	 * it empty, so a grant comes first, and writes the envelopes to the
	 * members it adds; the retired stay listed until revoked */
	int orphan = !op->revoke;
	for (size_t i = 0; orphan && i < t->n; i++) {
		long k = api_staff_find(op->staff, t->member[i]);
		orphan = k >= 0 && op->staff->v[k].valid_until[0];
	}
	/* else the envelopes are written to every member of the new team:
	 * one retired since cannot be among them, and must go first */
	op->envteam = orphan ? &op->active : &op->team;
	for (size_t i = 0; i < op->team.n; i++) {
		long k = api_staff_find(op->staff, op->team.member[i]);
		if (k < 0)
			cli_die("%s, on the team of case %s, is not a member of staff",
			    op->team.member[i], op->id);
		if (op->staff->v[k].valid_until[0] && orphan)
			continue;
		if (op->staff->v[k].valid_until[0])
			cli_die("%s, on the team of case %s, was retired on %s; revoke "
			    "their access too (api revoke %s %s)", op->team.member[i],
			    op->id, op->staff->v[k].valid_until, op->id,
			    op->team.member[i]);
		if (orphan && api_team_add(&op->active, op->team.member[i]) < 0)
			cli_die_lib();
	}
	if (op->revoke && api_team_has(api_case_team(op->cs), op->me->handle) &&
	    !api_team_has(&op->team, op->me->handle) &&
	    other_leads(op->staff, op->me->handle) == 0)
		cli_die("%s would revoke themselves, and no other lead is left to "
		    "manage case %s", op->me->handle, op->id);
}

/* Who may change a team: leads and admins, else the team itself where
 * api.conf says access.teamMayGrant = true. */
static void
check_actor(const api_conf *conf, struct teamop *op)
{
	int may = 0;

	if (api_staff_require(op->staff, op->me, API_ROLES) < 0)
		cli_die_lib();
	if (api_staff_require(op->staff, op->me, "lead admin") == 0)
		return;
	if (api_conf_bool(conf, "access.teamMayGrant", &may) < 0)
		cli_die_lib();
	if (!(may &&
	    api_staff_require(op->staff, op->me, "caseworker") == 0 &&
	    api_team_has(api_case_team(op->cs), op->me->handle)))
		cli_die("%s may not change the team of case %s: a lead or admin "
		    "may (or its team, where api.conf sets access.teamMayGrant)",
		    op->me->handle, op->id);
}

/*
 * One case: the new team (grant: handles added; revoke: taken away), its
 * envelopes, its team file; prints "CASE<TAB>TEAM" (prefix 1) or the team.
 * Dies on any error, with the case as it was.
 */
static void
team_apply(api_store *s, const api_conf *conf, const api_staff_list *l,
    const api_identity *me, const char *caseid, char **handles, int nh,
    int revoke, int reencrypt, int prefix)
{
	char dirpath[32], path[48];
	struct teamop op;
	long k;
	int rc;

	memset(&op, 0, sizeof op);
	op.revoke = revoke;
	op.nh = nh;
	op.reencrypt = reencrypt;
	op.staff = l;
	op.me = me;
	if (api_case_load(s, caseid, &op.cs) < 0)
		cli_die_lib();
	op.id = api_case_id(op.cs);
	if (api_case_purged(op.cs))
		cli_die("case %s was purged: its keys are destroyed, and its team "
		    "can no longer change", op.id);
	check_actor(conf, &op);
	new_team(&op, handles, nh);
	/* the envelopes as they are, before the keys are read from them: to
	 * tell whether they changed by the time the new ones are written, and
	 * to put back if main cannot be written */
	op.old_key.secret = op.old_events.secret = 0;
	api_case_dir(dirpath, op.id);
	snprintf(path, sizeof path, "%s/key.age", dirpath);
	if (api_store_read_ref(s, API_KEYS_REF, path, &op.old_key) < 0)
		cli_die_lib();
	snprintf(path, sizeof path, "%s/events.age", dirpath);
	if (api_store_read_ref(s, API_KEYS_REF, path, &op.old_events) < 0)
		cli_die_lib();
	snprintf(path, sizeof path, "%s/key.for", dirpath);
	if ((rc = api_store_read_ref(s, API_KEYS_REF, path, &op.old_for)) < 0 &&
	    rc != API_ENOTFOUND)
		cli_die_lib();
	rc = api_case_keys(op.cs, op.me, &op.keys);
	if (rc == API_EPERM && (k = api_staff_find(l, op.me->handle)) >= 0 &&
	    strcmp(l->v[k].role, "lead") == 0)
		/* key.age goes to the leads active when it was last written */
		cli_die("%s is a lead, but the keys of case %s were last written "
		    "before %s became one; a member of its team, or a lead who "
		    "holds them, must change its team first", op.me->handle, op.id,
		    op.me->handle);
	if (rc < 0 || api_case_unlock(op.cs, op.me) < 0)
		cli_die_lib();
	/* a re-encryption decrypts every record of the case: a read */
	if (reencrypt)
		cli_readlog_one(s, me, revoke ? "api-revoke" : "api-grant",
		    "re-encryption", op.id);
	if (revoke) {
		/* new keys for what is written from now on */
		if (op.keys.nn >= API_MAX_KEYS || op.keys.ne >= API_MAX_KEYS)
			cli_die("case %s has been re-keyed %d times; no more", op.id,
			    API_MAX_KEYS);
		if (api_age_keypair(op.note_pk, op.keys.note_sks + 32 *
		    op.keys.nn++) < 0 || api_age_keypair(op.event_pk,
		    op.keys.event_sks + 32 * op.keys.ne++) < 0)
			cli_die_lib();
	}
	if (api_store_write_ref(s, op.me, API_KEYS_REF, API_WRITE_ROOT,
	    team_build_keys, &op, NULL) < 0)
		cli_die_lib();
	if (api_store_write(s, op.me, team_build_main, &op, NULL) < 0) {
		char err[512];
		snprintf(err, sizeof err, "%s", api_error_last());
		op.undo = 1;
		if (api_store_write_ref(s, op.me, API_KEYS_REF, API_WRITE_ROOT,
		    team_build_keys, &op, NULL) < 0) {
			if (op.superseded)
				cli_die("%s (the case keys were written again meanwhile "
				    "by another change of its team, and stay as that "
				    "wrote them)", err);
			cli_die("%s; and the case keys could not be put back: %s",
			    err, api_error_last());
		}
		cli_die("%s", err);
	}
	if (prefix)
		printf("%s\t", op.id);
	for (size_t i = 0; i < op.team.n; i++)
		printf("%s%s", i ? " " : "", op.team.member[i]);
	printf("\n");
	api_buf_free(&op.old_key);
	api_buf_free(&op.old_events);
	api_buf_free(&op.old_for);
	api_buf_free(&op.new_key);
	api_buf_free(&op.new_events);
	api_keyset_free(&op.keys);
	api_team_free(&op.team);
	api_team_free(&op.active);
	api_case_free(op.cs);
}

/* --all: every case whose team lists a handle (all: every case) */
struct allcases {
	api_store *s;
	char **handles;
	int nh, all;
	char (*ids)[API_CASE_ID_LEN + 1];
	size_t n;
};

static int
collect_case(void *ctx, const char *id)
{
	struct allcases *a = ctx;
	api_case *c;
	int on = 0;

	if (api_case_load(a->s, id, &c) < 0)
		return -1;
	for (int i = 0; !api_case_purged(c) && i < a->nh; i++)
		on |= a->all || api_team_has(api_case_team(c), a->handles[i]);
	api_case_free(c);
	if (on) {
		void *v = realloc(a->ids, (a->n + 1) * sizeof *a->ids);
		if (v == NULL)
			return api_error_set(API_ENOMEM, "out of memory");
		a->ids = v;
		snprintf(a->ids[a->n++], API_CASE_ID_LEN + 1, "%s", id);
	}
	return 0;
}

/*
 * The staff as the envelopes written for leavers must see them: each
 * leaver retired (as of now, if not yet), so that no envelope goes to a
 * leaving lead.  Returns 1 if a leaver is or was a lead: a lead holds the
 * keys of every case, so every case must be re-keyed.
 */
static int
leavers_gone(const api_staff_list *l, char **handles, int nh,
    api_staff_list *out)
{
	int lead = 0;

	*out = *l;
	if ((out->v = calloc(l->n ? l->n : 1, sizeof *out->v)) == NULL)
		cli_die("out of memory");
	memcpy(out->v, l->v, l->n * sizeof *out->v);
	for (int j = 0; j < nh; j++) {
		long k = api_staff_find(l, handles[j]);
		if (k < 0)
			cli_die("%s: no such member of staff", handles[j]);
		lead |= strcmp(l->v[k].role, "lead") == 0;
		if (!out->v[k].valid_until[0] &&
		    api_time_format(out->v[k].valid_until, (int64_t)time(NULL)) < 0)
			cli_die_lib();
	}
	return lead;
}

/* --all: each handle from every case whose team lists it, one case after
 * the other (a commit on each ref per case); what is done stays done when
 * a later case fails, and running it again finishes the rest.  A leaving
 * lead held the keys of every case: the cases whose team does not list
 * them get new keys too (Api-Action: rekey). */
static void
revoke_all(api_store *s, const api_conf *conf, const api_staff_list *l,
    const api_identity *me, char **handles, int nh, int reencrypt)
{
	struct allcases a = { s, handles, nh, 0, NULL, 0 };
	char **mine = calloc((size_t)nh, sizeof *mine);
	api_staff_list gone;

	if (mine == NULL)
		cli_die("out of memory");
	/* a mistyped handle is on no team: it would find nothing to do,
	 * and leave the leaver on every case */
	a.all = leavers_gone(l, handles, nh, &gone);
	if (api_cases_each(s, collect_case, &a) < 0)
		cli_die_lib();
	for (size_t i = 0; i < a.n; i++) {
		api_case *c;
		int k = 0, stale = 0;
		if (api_case_load(s, a.ids[i], &c) < 0)
			cli_die_lib();
		for (int j = 0; j < nh; j++)
			if (api_team_has(api_case_team(c), handles[j]))
				mine[k++] = handles[j];
		/* a case a leaving lead is not on: new keys all the same (a
		 * rerun makes them again: it cannot tell whose envelopes an
		 * age file holds) */
		stale = k == 0 && a.all;
		api_case_free(c);
		/* revoked there meanwhile: else a revoke of nobody */
		if (k == 0 && !stale)
			continue;
		team_apply(s, conf, &gone, me, a.ids[i], mine, k, 1, reencrypt, 1);
		fflush(stdout);
	}
	free(gone.v);
	free(mine);
	free(a.ids);
}

#ifndef TEAM_NO_MAIN
static void
team_usage(FILE *f, int revoke)
{
	if (revoke)
		fprintf(f, "usage: api-revoke [-C DIR] [-i FILE] [--passphrase-fd N] "
		    "[--reencrypt]\n                  CASE HANDLE...\n"
		    "       api-revoke [options] [--reencrypt] --all HANDLE...\n");
	else
		fprintf(f, "usage: api-grant [-C DIR] [-i FILE] [--passphrase-fd N] "
		    "CASE HANDLE...\n");
}

static int
team_main(int argc, char **argv, int revoke)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "reencrypt", no_argument, NULL, 'r' },
		{ "all", no_argument, NULL, 'a' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *name = revoke ? "api-revoke" :
	    "api-grant";
	int c, pass_fd = -1, reencrypt = 0, all = 0;
	api_identity *me;
	api_staff_list l;
	api_conf *conf;
	api_store *s;

	cli_start(name);
	while ((c = getopt_long(argc, argv, "hC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'r':
		case 'a':
			if (!revoke) {
				team_usage(stderr, revoke);
				return 2;
			}
			if (c == 'r')
				reencrypt = 1;
			else
				all = 1;
			break;
		case 'h':
			printf("%s - %s\n", name, revoke ? "take away access to a case "
			    "and rotate its keys" : "give staff access to a case");
			team_usage(stdout, revoke);
			return cli_flush();
		case 'V': printf("%s %s\n", name, API_VERSION); return cli_flush();
		default: team_usage(stderr, revoke); return 2;
		}
	}
	if (argc - optind < (all ? 1 : 2)) {
		team_usage(stderr, revoke);
		return 2;
	}
	s = cli_store_conf(dir, &conf);
	if (api_store_staff(s, &l) < 0)
		cli_die_lib();
	me = cli_identity(ident, pass_fd);
	if (all)
		revoke_all(s, conf, &l, me, argv + optind, argc - optind,
		    reencrypt);
	else
		team_apply(s, conf, &l, me, argv[optind], argv + optind + 1,
		    argc - optind - 1, revoke, reencrypt, 0);
	api_conf_free(conf);
	api_staff_list_free(&l);
	api_identity_free(me);
	api_store_free(s);
	return cli_flush();
}
#endif
#endif
