/* main.c: the relay's command line: reads it, loads the configuration, and
 * hands over to the daemon (daemon.h), relay check (check.h) or a tool
 * (tools.h). */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "config.h"
#include "daemon.h"
#include "db.h"
#include "files.h"
#include "imap.h"
#include "log.h"
#include "outbox.h"
#include "process.h"
#include "relay.h"
#include "settings.h"
#include "sms.h"
#include "template.h"
#include "termsafe.h"
#include "tools.h"

#define DEFAULT_CONFIG "/etc/relay/relay.conf"

/* Exit codes: 0 fine, 1 a check or operation failed, 2 usage, 3 configuration. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3 };

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t reloading;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: relay [-c FILE] [-v | -q] [--json] COMMAND [ARGS]\n"
	        "\n"
	        "The relay between young people and the service's advisers.\n"
	        "\n"
	        "commands:\n"
	        "  run                         the daemon: poll, process, send, repeat (SIGTERM stops, SIGHUP reloads)\n"
	        "  poll                        one complete cycle: fetch everything new, process it, flush the outbox\n"
	        "  check                       configuration, templates, hours, files, and a login to every server\n"
	        "  status                      each part's health as the daemon sees it; exit 1 when one fails\n"
	        "  list [--open | --urgent]    conversations: reference, state, channel, contact, activity\n"
	        "  show REF                    one conversation's transcript, notes and deliveries\n"
	        "  close REF                   close a conversation\n"
	        "  reopen REF                  reopen a closed conversation\n"
	        "  send REF                    send the young person a message read from standard input\n"
	        "  stats [--since YYYY-MM-DD]  messages per channel, in and out of hours, urgent, reply times\n"
	        "  export REF                  a conversation's transcript for a safeguarding referral\n"
	        "  purge [--dry-run]           remove text kept longer than retention_days after closing\n"
	        "  retry REF                   hand a conversation's set-aside messages back to the relay\n"
	        "\n"
	        "options:\n"
	        "  -c FILE    configuration file (default %s, or $RELAY_CONFIG)\n"
	        "  -v         log debug detail\n"
	        "  -q         log warnings and errors only\n"
	        "  --json     machine-readable output (list, show, stats, export, close, reopen, send, purge, retry, status)\n"
	        "  -h         this help\n"
	        "  --version  which build this is (production, or a test build)\n"
	        "\n"
	        "exit status: 0 success, 1 failure, 2 usage error, 3 configuration error\n",
	        DEFAULT_CONFIG);
}

static void on_stop(int sig)
{
	(void)sig;
	stopping = 1;
	imap_wake();
}

static void on_hup(int sig)
{
	(void)sig;
	reloading = 1;
	imap_wake();
}

static void set_signals(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_stop;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = on_hup;
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	/* libetpan writes with send(..., 0): a dropped server must not kill us. */
	sigaction(SIGPIPE, &sa, NULL);
}

static int verbosity;  /* -q: -1, -v: 1 */
static int stays_root; /* [service] user = root, started as root */

/* The log's destination and level: the configuration's, unless -v or -q. */
static void set_logging(const struct config *c)
{
	enum log_level lvl = LOG_LVL_INFO;
	if (c)
		(void)log_parse_level(c->log_level, &lvl);
	if (verbosity > 0)
		lvl = LOG_LVL_DEBUG;
	else if (verbosity < 0)
		lvl = LOG_LVL_WARN;
	log_init("relay", c && c->log && !strcmp(c->log, "syslog"), lvl);
}

static void file_problem(void *arg, const char *problem)
{
	(void)arg;
	termsafe_printf(stderr, 1, "relay: %s\n", problem);
}

/* Loads configuration (and secrets, read while still root), drops root to
 * [service] user, and puts the process in the service's zone. */
static int load(const char *path, struct config **out, int secrets)
{
	char err[1024];
	if (config_load(path, out, err, sizeof err) < 0) {
		termsafe_printf(stderr, 1, "relay: %s\n", err);
		return -1;
	}
	if (secrets && config_load_secrets(*out, err, sizeof err) < 0) {
		termsafe_printf(stderr, 1, "relay: %s\n", err);
		goto fail;
	}
	int dropped = process_drop_root((*out)->user, err, sizeof err);
	if (dropped < 0) {
		termsafe_printf(stderr, 1, "relay: %s\n", err);
		goto fail;
	}
	stays_root = dropped == 1;
	/* Every start, not only relay check: files others could write are refused. */
	int problems = files_check(*out, geteuid(), file_problem, NULL);
	if (problems) {
		termsafe_printf(stderr, 1, "relay: not started: others could change %s (relay check lists every file)\n",
		                problems == 1 ? "the file above" : "the files above");
		goto fail;
	}
	setenv("TZ", (*out)->timezone, 1);
	tzset();
	set_logging(*out);
	return 0;
fail:
	config_free(*out);
	*out = NULL;
	return -1;
}

/* The daemon's reload (SIGHUP): as a start that talks to servers. */
static int reload(const char *path, struct config **out)
{
	return load(path, out, 1);
}

/* Reads "YYYY-MM-DD" as local midnight in the service's zone: exactly that
 * form, and a day the calendar has (2026-02-30 is refused, not March 2). */
static int parse_date(const char *text, long long *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strlen(text) != 10 || strspn(text, "0123456789") != 4 || text[4] != '-' || strspn(text + 5, "0123456789") != 2 ||
	    text[7] != '-' || strspn(text + 8, "0123456789") != 2)
		return -1;
	const char *end = strptime(text, "%Y-%m-%d", &tm);
	if (!end || *end || tm.tm_year < 70)
		return -1;
	int year = tm.tm_year, month = tm.tm_mon, day = tm.tm_mday;
	tm.tm_isdst = -1;
	time_t t = mktime(&tm);
	if (t == (time_t)-1 || tm.tm_year != year || tm.tm_mon != month || tm.tm_mday != day)
		return -1;
	*out = (long long)t;
	return 0;
}

/* The commands and what they take. */
static const struct command_spec {
	const char *name;
	int ref;           /* takes a conversation reference */
	int secrets;       /* needs passwords and the signing key (talks to servers) */
	int sms;           /* opens the SMS gateway */
	const char *flags; /* the options it accepts, space-separated */
} commands[] = {
	{ "run", 0, 1, 1, "" },
	{ "poll", 0, 1, 1, "" },
	{ "list", 0, 0, 0, "--open --urgent" },
	{ "show", 1, 0, 0, "" },
	{ "close", 1, 0, 0, "" },
	{ "reopen", 1, 0, 0, "" },
	{ "send", 1, 1, 1, "" },
	{ "stats", 0, 0, 0, "--since" },
	{ "export", 1, 0, 0, "" },
	{ "purge", 0, 0, 0, "--dry-run" },
	{ "retry", 1, 1, 1, "" },
	{ "status", 0, 0, 0, "" },
};

int main(int argc, char **argv)
{
	const char *path = getenv("RELAY_CONFIG") ? getenv("RELAY_CONFIG") : DEFAULT_CONFIG;
	int json = 0, opt;
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
		                                  { "config", required_argument, NULL, 'c' },
		                                  { "json", no_argument, NULL, 'j' },
		                                  { "version", no_argument, NULL, 'V' },
		                                  { NULL, 0, NULL, 0 } };

	while ((opt = getopt_long(argc, argv, "+c:vqh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			path = optarg;
			break;
		case 'v':
			verbosity = 1;
			break;
		case 'q':
			verbosity = -1;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case 'V':
			printf("relay (%s)\n", relay_build());
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	set_logging(NULL);
	set_signals();

	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "check"))
		return argc - optind > 1 ? (usage(stderr), EXIT_USAGE) : check_run(path);

	const struct command_spec *spec = NULL;
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (!strcmp(cmd, commands[i].name))
			spec = &commands[i];
	if (!spec) {
		termsafe_printf(stderr, 1, "relay: unknown command '%s' (try relay --help)\n", cmd);
		return EXIT_USAGE;
	}
	/* The command's own arguments: its options, then a reference if it takes one. */
	const char *ref = NULL, *since_text = NULL;
	int open_only = 0, urgent_only = 0, dry_run = 0;
	for (int i = optind + 1; i < argc; i++) {
		const char *a = argv[i];
		if (a[0] == '-' && a[1] == '-' && strstr(spec->flags, a) && strlen(a) > 2) {
			if (!strcmp(a, "--open"))
				open_only = 1;
			else if (!strcmp(a, "--urgent"))
				urgent_only = 1;
			else if (!strcmp(a, "--dry-run"))
				dry_run = 1;
			else if (!strcmp(a, "--since") && i + 1 < argc)
				since_text = argv[++i];
			else
				goto bad_args;
		} else if (!strncmp(a, "--since=", 8) && strstr(spec->flags, "--since")) {
			since_text = a + 8;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (spec->ref && !ref && a[0] != '-') {
			ref = a;
		} else {
			goto bad_args;
		}
	}
	if ((spec->ref && !ref) || (open_only && urgent_only))
		goto bad_args;

	struct config *c = NULL;
	struct db *db = NULL;
	if (load(path, &c, spec->secrets) < 0)
		return EXIT_CONFIG;
	long long since = 0;
	if (since_text && parse_date(since_text, &since) < 0) {
		termsafe_printf(stderr, 1,
		                "relay: --since %s: not a date; expected YYYY-MM-DD, a day the calendar has "
		                "(from 1970-01-01), e.g. 2026-02-28\n",
		                since_text);
		config_free(c);
		return EXIT_USAGE;
	}
	if (daemon_open_db(c, &db) < 0) {
		config_free(c);
		return EXIT_FAILED;
	}
	int rc;
	char *who = process_operator();
	struct relay r = { .cfg = c, .db = db, .now = relay_clock(), .stopping = &stopping };
	struct tools t = { .r = &r, .json = json, .operator= who };
	if (!strcmp(cmd, "run")) {
		struct daemon_control d = { .config_path = path,
			                    .stopping = &stopping,
			                    .reloading = &reloading,
			                    .load = reload,
			                    .stays_root = stays_root };
		rc = daemon_run(&d, &c, &db) == 0 ? EXIT_OK : EXIT_FAILED;
	} else if (!strcmp(cmd, "poll"))
		rc = daemon_poll(c, db, &stopping) == 0 ? EXIT_OK : EXIT_FAILED;
	else if (!strcmp(cmd, "list"))
		rc = tools_list(&t, open_only ? DB_LIST_OPEN : urgent_only ? DB_LIST_URGENT : DB_LIST_ALL);
	else if (!strcmp(cmd, "show"))
		rc = tools_show(&t, ref);
	else if (!strcmp(cmd, "export"))
		rc = tools_export(&t, ref);
	else if (!strcmp(cmd, "close") || !strcmp(cmd, "reopen"))
		rc = tools_set_state(&t, ref, !strcmp(cmd, "reopen"));
	else if (!strcmp(cmd, "send")) {
		r.sms = settings_sms_open(c);
		rc = tools_send(&t, ref, stdin);
		sms_close(r.sms);
	} else if (!strcmp(cmd, "retry")) {
		r.sms = settings_sms_open(c);
		rc = tools_retry(&t, ref);
		sms_close(r.sms);
	} else if (!strcmp(cmd, "stats"))
		rc = tools_stats(&t, since);
	else if (!strcmp(cmd, "status"))
		rc = tools_status(&t);
	else
		rc = tools_purge(&t, dry_run, who);
	outbox_end(&r);
	free(who);
	db_close(db);
	config_free(c);
	template_forget();
	return rc;

bad_args:
	if (spec->ref && !ref) {
		termsafe_printf(stderr, 1, "relay: %s takes one reference, e.g. relay %s RUS-7K3F2\n", cmd, cmd);
		return EXIT_USAGE;
	}
	termsafe_printf(stderr, 1, "relay: usage: relay %s%s%s%s (try relay --help)\n", cmd, spec->ref ? " REF" : "",
	                spec->flags[0] ? " " : "", spec->flags);
	return EXIT_USAGE;
}
