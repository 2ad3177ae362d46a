/* api-staff - add, list and retire staff public identities and roles. */
#include <getopt.h>

#define TEAM_NO_MAIN
#include "team.h"

struct op {
	const api_identity *id;
	const char *role;
	api_pubid pub;               /* add */
	const char *handle;          /* retire */
};

static void
usage(FILE *f)
{
	fprintf(f,
	    "usage: api-staff [-C DIR] [-i FILE] [--passphrase-fd N] add --role ROLE\n"
	    "                 [HANDLE] [PUBFILE]\n"
	    "       api-staff [-C DIR] list [--json]\n"
	    "       api-staff [-C DIR] [-i FILE] [--passphrase-fd N] retire HANDLE\n"
	    "                 [--revoke-all [--reencrypt] [--lead-identity FILE]\n"
	    "                 [--lead-passphrase-fd N]]\n"
	    "ROLE is one of: " API_ROLES "\n");
}

static int
add_member(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	api_staff_list l;
	api_staff *v, *m;
	char obj[API_HANDLE_MAX + 8];
	int rc;

	if ((rc = api_tx_staff(tx, &l)) < 0)
		return rc;
	if ((rc = api_staff_require(&l, op->id, "admin")) < 0)
		goto out;
	if (api_staff_find(&l, op->pub.handle) >= 0) {
		rc = api_error_set(API_EEXIST, "%s is already a member of staff "
		    "(handles are never reused)", op->pub.handle);
		goto out;
	}
	if (api_staff_find_key(&l, op->pub.sign_pk) >= 0) {
		rc = api_error_set(API_EEXIST, "this signing key already belongs to "
		    "another member of staff");
		goto out;
	}
	if ((v = realloc(l.v, (l.n + 1) * sizeof *v)) == NULL) {
		rc = api_error_set(API_ENOMEM, "out of memory");
		goto out;
	}
	l.v = v;
	m = &l.v[l.n++];
	memset(m, 0, sizeof *m);
	memcpy(m->handle, op->pub.handle, sizeof m->handle);
	snprintf(m->role, sizeof m->role, "%s", op->role);
	m->pub = op->pub;
	memcpy(m->added_by, op->id->handle, sizeof m->added_by);
	if ((rc = api_time_format(m->valid_from, api_tx_now(tx))) < 0 ||
	    (rc = api_tx_put_staff(tx, m, &l)) < 0)
		goto out;
	snprintf(obj, sizeof obj, "staff/%s", m->handle);
	rc = api_tx_message(tx, "staff: member added", "staff-add", NULL, obj);
out:
	api_staff_list_free(&l);
	return rc;
}

static int
retire_member(void *ctx, api_tx *tx)
{
	struct op *op = ctx;
	api_staff_list l;
	char obj[API_HANDLE_MAX + 8];
	size_t admins = 0;
	long i;
	int rc;

	if ((rc = api_tx_staff(tx, &l)) < 0)
		return rc;
	if ((rc = api_staff_require(&l, op->id, "admin")) < 0)
		goto out;
	if ((i = api_staff_find(&l, op->handle)) < 0) {
		rc = api_error_set(API_ENOTFOUND, "%s is not a member of staff",
		    op->handle);
		goto out;
	}
	if (l.v[i].valid_until[0]) {
		rc = api_error_set(API_EINVAL, "%s was already retired on %s",
		    op->handle, l.v[i].valid_until);
		goto out;
	}
	for (size_t j = 0; j < l.n; j++)
		admins += !l.v[j].valid_until[0] && strcmp(l.v[j].role, "admin") == 0;
	if (strcmp(l.v[i].role, "admin") == 0 && admins < 2) {
		rc = api_error_set(API_EPERM, "%s is the last active admin; add "
		    "another admin first", op->handle);
		goto out;
	}
	/* ssh-keygen wants valid-before strictly after valid-after */
	int64_t from, until = api_tx_now(tx);
	if ((rc = api_time_parse(l.v[i].valid_from, &from)) < 0)
		goto out;
	if (until <= from)
		until = from + 1;
	if ((rc = api_time_format(l.v[i].valid_until, until)) < 0 ||
	    (rc = api_tx_put_staff(tx, &l.v[i], &l)) < 0)
		goto out;
	snprintf(obj, sizeof obj, "staff/%s", op->handle);
	rc = api_tx_message(tx, "staff: member retired", "staff-retire", NULL, obj);
out:
	api_staff_list_free(&l);
	return rc;
}

static int
list(const char *dir, int json)
{
	api_store *s = cli_store(dir);
	api_staff_list l;
	char age[API_AGE_RECIPIENT_LEN + 1], ssh[API_SSH_PUBKEY_LEN + 1];

	if (api_store_staff(s, &l) < 0)
		cli_die_lib();
	if (json)
		printf("[");
	for (size_t i = 0; i < l.n; i++) {
		const api_staff *m = &l.v[i];
		api_age_recipient_encode(age, m->pub.age_pk);
		api_ssh_pubkey_encode(ssh, m->pub.sign_pk);
		if (!json) {
			printf("%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m->handle, m->role,
			    m->valid_until[0] ? "retired" : "active", m->valid_from,
			    m->valid_until[0] ? m->valid_until : "-", age, ssh);
			continue;
		}
		printf("%s\n  {\"handle\": ", i ? "," : "");
		cli_json_str(m->handle);
		printf(", \"role\": ");
		cli_json_str(m->role);
		printf(", \"active\": %s, \"valid_from\": ",
		    m->valid_until[0] ? "false" : "true");
		cli_json_str(m->valid_from);
		printf(", \"valid_until\": ");
		if (m->valid_until[0])
			cli_json_str(m->valid_until);
		else
			printf("null");
		printf(", \"added_by\": ");
		cli_json_str(m->added_by);
		printf(", \"age\": ");
		cli_json_str(age);
		printf(", \"ssh\": ");
		cli_json_str(ssh);
		printf("}");
	}
	if (json)
		printf("%s]\n", l.n ? "\n" : "");
	api_staff_list_free(&l);
	api_store_free(s);
	return cli_flush();
}

struct oncases {
	api_store *s;
	const char *handle;
	size_t n;
	int lead;                    /* the leaver was a lead */
};

/* Prints the ID of a case whose team lists oc->handle. */
static int
list_case(void *ctx, const char *id)
{
	struct oncases *oc = ctx;
	api_case *c;

	if (api_case_load(oc->s, id, &c) < 0)
		return -1;
	if (!api_case_purged(c) && api_team_has(api_case_team(c), oc->handle)) {
		printf("%s\n", id);
		oc->n++;
	}
	api_case_free(c);
	return 0;
}

/*
 * retire --revoke-all: before the retirement, the leaver is revoked from
 * every case whose team lists them, signed by lead (who must hold the
 * keys of each: that is checked first, so a missing key changes nothing).
 */
static void
revoke_before_retire(api_store *s, const api_identity *admin,
    const api_identity *lead, const char *handle, int reencrypt)
{
	char *h = (char *)handle;
	struct allcases a = { s, &h, 1, 0, NULL, 0 };
	api_staff_list l;
	api_conf *conf;
	long k;

	if (api_store_staff(s, &l) < 0 || api_staff_require(&l, admin,
	    "admin") < 0)
		cli_die_lib();
	if ((k = api_staff_find(&l, handle)) < 0)
		cli_die("%s: no such member of staff", handle);
	if (l.v[k].valid_until[0])
		cli_die("%s was already retired on %s", handle, l.v[k].valid_until);
	/* a lead holds the keys of every case: every case gets new ones */
	a.all = strcmp(l.v[k].role, "lead") == 0;
	if (api_store_conf(s, &conf) < 0 || api_cases_each(s, collect_case,
	    &a) < 0)
		cli_die_lib();
	for (size_t i = 0; i < a.n; i++) {
		api_keyset ks;
		api_case *c;
		if (api_case_load(s, a.ids[i], &c) < 0)
			cli_die_lib();
		if (api_case_keys(c, lead, &ks) < 0)
			cli_die("%s cannot open the keys of case %s, which %s is on; "
			    "nothing changed (give a lead's identity with "
			    "--lead-identity)", lead->handle, a.ids[i], handle);
		api_keyset_free(&ks);
		api_case_free(c);
	}
	free(a.ids);
	revoke_all(s, conf, &l, lead, &h, 1, reencrypt);
	api_conf_free(conf);
	api_staff_list_free(&l);
}

/* The public line from a file or stdin (first non-comment line). */
static void
read_publine(const char *file, api_pubid *p)
{
	char line[1024];
	FILE *f = stdin;
	int found = 0;

	if (file && strcmp(file, "-") != 0 && (f = fopen(file, "r")) == NULL)
		cli_die("%s: cannot open: %s", file, strerror(errno));
	while (fgets(line, sizeof line, f) != NULL) {
		if (line[0] == '#' || line[strspn(line, " \t\r\n")] == '\0')
			continue;
		if (api_pubid_parse(p, line) < 0)
			cli_die("%s: %s", file ? file : "stdin", api_error_last());
		found = 1;
		break;
	}
	if (f != stdin)
		fclose(f);
	if (!found)
		cli_die("%s: no public line (from api-keygen -y)",
		    file ? file : "stdin");
}

int
main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "passphrase-fd", required_argument, NULL, 'P' },
		{ "role", required_argument, NULL, 'r' },
		{ "json", no_argument, NULL, 'j' },
		{ "revoke-all", no_argument, NULL, 'A' },
		{ "reencrypt", no_argument, NULL, 'R' },
		{ "lead-identity", required_argument, NULL, 'L' },
		{ "lead-passphrase-fd", required_argument, NULL, 'Q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const char *dir = NULL, *ident = NULL, *lead_ident = NULL, *cmd;
	int c, pass_fd = -1, lead_fd = -1, json = 0, rc, revoke = 0, reenc = 0;
	struct op op;
	api_store *s;
	char commit[GIT_OID_HEXSZ + 1];

	memset(&op, 0, sizeof op);
	cli_start("api-staff");
	while ((c = getopt_long(argc, argv, "+hC:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'h':
			printf("api-staff - add, list and retire staff identities "
			    "and roles\n");
			usage(stdout);
			return cli_flush();
		case 'V': printf("api-staff %s\n", API_VERSION); return cli_flush();
		default: usage(stderr); return 2;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return 2;
	}
	cmd = argv[optind];
	/* the command's own options, before or after its operands: getopt
	 * starts again (optind 0) on the words after the command */
	argc -= optind;
	argv += optind;
	optind = 0;
	while ((c = getopt_long(argc, argv, "C:i:", opts, NULL)) != -1) {
		switch (c) {
		case 'C': dir = optarg; break;
		case 'i': ident = optarg; break;
		case 'P': pass_fd = cli_int(optarg, "--passphrase-fd", 1 << 20); break;
		case 'r': op.role = optarg; break;
		case 'j': json = 1; break;
		case 'A': revoke = 1; break;
		case 'R': reenc = 1; break;
		case 'L': lead_ident = optarg; break;
		case 'Q': lead_fd = cli_int(optarg, "--lead-passphrase-fd", 1 << 20);
			break;
		default: usage(stderr); return 2;
		}
	}
	argc -= optind;
	argv += optind;
	if (strcmp(cmd, "retire") != 0 && (revoke || reenc || lead_ident ||
	    lead_fd >= 0)) {
		usage(stderr);
		return 2;
	}
	if (!revoke && (reenc || lead_ident || lead_fd >= 0)) {
		fprintf(stderr, "api-staff: --reencrypt, --lead-identity and "
		    "--lead-passphrase-fd go with --revoke-all\n");
		return 2;
	}
	if (strcmp(cmd, "list") == 0) {
		if (argc != 0 || op.role) {
			usage(stderr);
			return 2;
		}
		return list(dir, json);
	}
	if (strcmp(cmd, "add") == 0) {
		if (op.role == NULL || argc > 2 || json) {
			usage(stderr);
			return 2;
		}
		if (!api_role_valid(op.role))
			cli_die("unknown role '%s': use one of " API_ROLES, op.role);
		/* HANDLE PUBFILE, HANDLE, PUBFILE (a path has a / or a .) */
		const char *handle = NULL, *file = NULL;
		if (argc == 2) {
			handle = argv[0];
			file = argv[1];
		} else if (argc == 1 && api_handle_valid(argv[0]) &&
		    access(argv[0], F_OK) != 0) {
			handle = argv[0];
		} else if (argc == 1) {
			file = argv[0];
		}
		read_publine(file, &op.pub);
		if (handle) {
			if (!api_handle_valid(handle))
				cli_die("invalid handle '%s'", handle);
			snprintf(op.pub.handle, sizeof op.pub.handle, "%s", handle);
		}
		s = cli_store(dir);
		op.id = cli_identity(ident, pass_fd);
		rc = api_store_write(s, op.id, add_member, &op, commit);
	} else if (strcmp(cmd, "retire") == 0) {
		if (argc != 1 || op.role || json) {
			usage(stderr);
			return 2;
		}
		op.handle = argv[0];
		s = cli_store(dir);
		op.id = cli_identity(ident, pass_fd);
		if (revoke) {
			api_identity *lead = lead_ident ? cli_identity(lead_ident,
			    lead_fd) : (api_identity *)op.id;
			revoke_before_retire(s, op.id, lead, op.handle, reenc);
			if (lead != op.id)
				api_identity_free(lead);
			fflush(stdout);
		}
		rc = api_store_write(s, op.id, retire_member, &op, commit);
	} else {
		fprintf(stderr, "api-staff: unknown command '%s'\n", cmd);
		usage(stderr);
		return 2;
	}
	if (rc < 0)
		cli_die_lib();
	fprintf(stderr, "api-staff: %s %s, commit %.12s\n",
	    strcmp(cmd, "add") == 0 ? "added" : "retired",
	    strcmp(cmd, "add") == 0 ? op.pub.handle : op.handle, commit);
	if (strcmp(cmd, "retire") == 0 && !revoke) {
		/* the cases the leaver is still on: their keys still open
		 * them until a lead revokes the leaver there */
		struct oncases oc = { s, op.handle, 0, 0 };
		api_staff_list sl;
		if (api_store_staff(s, &sl) == 0) {
			long k = api_staff_find(&sl, op.handle);
			oc.lead = k >= 0 && strcmp(sl.v[k].role, "lead") == 0;
			api_staff_list_free(&sl);
		}
		if (api_cases_each(s, list_case, &oc) < 0)
			cli_die_lib();
		if (oc.n)
			fprintf(stderr, "api-staff: %s is still on the team of %zu "
			    "case%s (listed on stdout); a lead revokes them with "
			    "api revoke --all %s\n", op.handle, oc.n, oc.n == 1 ? "" : "s",
			    op.handle);
		if (oc.lead)
			fprintf(stderr, "api-staff: %s was a lead, whose keys open "
			    "every case until it is re-keyed: another lead re-keys "
			    "them all with api revoke --all %s\n", op.handle,
			    op.handle);
		if (cli_flush())
			return 1;
	}
	api_identity_free((api_identity *)op.id);
	api_store_free(s);
	return 0;
}
