/* main.c: the relay's command line. */
#include <curl/curl.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "hours.h"
#include "imap.h"
#include "log.h"
#include "mailbox.h"
#include "outbox.h"
#include "phone.h"
#include "reference.h"
#include "relay.h"
#include "sms.h"
#include "smsbox.h"
#include "smtp.h"
#include "template.h"
#include "triage.h"
#include "util.h"

#define DEFAULT_CONFIG "/etc/relay/relay.conf"

/* Exit codes: 0 fine, 1 a check or operation failed, 2 usage, 3 configuration. */
enum { EXIT_OK = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_CONFIG = 3 };

static volatile sig_atomic_t stopping;
static volatile sig_atomic_t reloading;

static void usage(FILE *f)
{
	fprintf(f,
	        "usage: relay [-c FILE] [-v] COMMAND [ARGS]\n"
	        "\n"
	        "The relay between young people and the service's advisers.\n"
	        "\n"
	        "commands:\n"
	        "  run        the daemon: poll, process, send, repeat (SIGTERM stops, SIGHUP reloads)\n"
	        "  poll       one complete cycle: fetch everything new, process it, flush the outbox\n"
	        "  check      validate configuration and templates, log in to every server\n"
	        "  list       conversations: reference, channel, state, last activity\n"
	        "  show REF   one conversation's transcript and deliveries\n"
	        "\n"
	        "options:\n"
	        "  -c FILE    configuration file (default %s)\n"
	        "  -v         log debug detail\n"
	        "  -h         this help\n"
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

/* Loads configuration and secrets, and puts the process in the service's zone. */
static int load(const char *path, struct config **out, int secrets)
{
	char err[1024];
	if (config_load(path, out, err, sizeof err) < 0) {
		fprintf(stderr, "relay: %s\n", err);
		return -1;
	}
	if (secrets && config_load_secrets(*out, err, sizeof err) < 0) {
		fprintf(stderr, "relay: %s\n", err);
		config_free(*out);
		*out = NULL;
		return -1;
	}
	setenv("TZ", (*out)->timezone, 1);
	tzset();
	enum log_level lvl;
	if (log_parse_level((*out)->log_level, &lvl) == 0)
		log_set_level(lvl);
	return 0;
}

static int open_db(struct config *c, struct db **db)
{
	char err[1024];
	if (db_open(c->database, db, err, sizeof err) < 0) {
		log_error("database %s", err);
		return -1;
	}
	return 0;
}

static void sms_settings(const struct config *c, struct sms_settings *s)
{
	memset(s, 0, sizeof *s);
	s->provider = c->sms_provider;
	s->url = c->sms_url;
	s->account = c->sms_account;
	s->username = c->sms_username;
	s->password = c->sms_password;
	s->number = c->sms_number;
	s->ca_file = c->sms_ca_file;
	s->timeout = c->sms_timeout;
}

/* Opens the SMS gateway when one is configured; NULL when none (or on error, logged). */
static struct sms_gateway *open_sms(const struct config *c)
{
	struct sms_settings s;
	struct sms_gateway *g = NULL;
	char err[512];
	if (!config_has_sms(c))
		return NULL;
	sms_settings(c, &s);
	if (sms_open(&s, &g, err, sizeof err) < 0) {
		log_error("sms: %s", err);
		return NULL;
	}
	return g;
}

/* Did the disk fail a write since `before`? db.c has reported it then, once. */
static int disk_failed_since(const struct relay *r, unsigned long before)
{
	return db_disk_failures(r->db) != before;
}

/* One cycle: the inbox, the text inbox, then the outbox. 0 when all went well.
 * texts: poll the SMS gateway this time. */
static int cycle(struct relay *r, struct imap **im, int texts)
{
	char err[1024];
	int ok = 0;
	unsigned long disk = db_disk_failures(r->db);

	r->now = relay_clock();
	if (texts && r->sms && smsbox_poll(r, err, sizeof err) < 0) {
		if (!disk_failed_since(r, disk))
			log_error("sms %s: %s", r->sms->provider->name, err);
		ok = -1;
	}
	r->now = relay_clock();
	if (!*im && mailbox_open(r, im, err, sizeof err) < 0) {
		log_error("%s", err);
		*im = NULL;
		ok = -1;
	}
	disk = db_disk_failures(r->db);
	if (*im && mailbox_poll(r, *im, err, sizeof err) < 0) {
		if (!disk_failed_since(r, disk))
			log_error("mailbox: %s", err);
		imap_close(*im);
		*im = NULL;
		ok = -1;
	}
	/* Nothing is sent while its outcome could not be recorded: it would go twice. */
	if (!db_has_room(r->db))
		return -1;
	r->now = relay_clock();
	/* Conversations with no activity for close_after_days close by themselves. */
	int closed = db_close_inactive(r->db, r->now - (long long)r->cfg->close_after_days * 86400, r->now);
	if (closed > 0)
		log_info("%d conversation%s closed after %d days without activity", closed, closed == 1 ? "" : "s",
		         r->cfg->close_after_days);
	if (outbox_flush(r, err, sizeof err) < 0)
		ok = -1;
	if (texts && r->sms && outbox_track_deliveries(r) < 0)
		ok = -1;
	if (outbox_alert_stale(r) > 0)
		(void)outbox_flush(r, err, sizeof err);   /* the alerts themselves, at once */
	return ok;
}

static int cmd_poll(struct config *c, struct db *db)
{
	struct relay r = { c, db, relay_clock(), &stopping, open_sms(c) };
	struct imap *im = NULL;
	int rc = cycle(&r, &im, 1);
	if (config_has_sms(c) && !r.sms)
		rc = -1;
	imap_close(im);
	sms_close(r.sms);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}

/* Sleeps up to seconds, waking early for a signal. */
static void nap(int seconds)
{
	for (int i = 0; i < seconds * 10 && !stopping && !reloading; i++)
		poll(NULL, 0, 100);
}

static int cmd_run(const char *path, struct config **cp, struct db **dbp)
{
	struct imap *im = NULL;
	struct sms_gateway *sms = open_sms(*cp);
	long long last_texts = 0;
	int failures = 0;

	log_info("relay started: %s, polling every %ds%s", (*cp)->name, (*cp)->poll_interval,
	         (*cp)->imap_idle ? ", IDLE when offered" : "");
	while (!stopping) {
		if (reloading) {
			struct config *fresh = NULL;
			reloading = 0;
			if (load(path, &fresh, 1) == 0) {
				struct db *db2 = NULL;
				if (strcmp(fresh->database, (*cp)->database) == 0 || open_db(fresh, &db2) == 0) {
					imap_close(im);
					im = NULL;
					if (db2) {
						db_close(*dbp);
						*dbp = db2;
					}
					config_free(*cp);
					*cp = fresh;
					sms_close(sms);
					sms = open_sms(*cp);
					last_texts = 0;
					log_info("configuration reloaded");
				} else {
					config_free(fresh);
				}
			} else {
				log_error("configuration not reloaded: keeping the running one");
			}
		}
		if (!sms && config_has_sms(*cp))
			sms = open_sms(*cp);
		struct relay r = { *cp, *dbp, relay_clock(), &stopping, sms };
		/* Texts are polled on their own interval; IDLE never holds them up. */
		int texts = r.now - last_texts >= (*cp)->sms_poll_interval;
		if (texts)
			last_texts = r.now;
		int rc = cycle(&r, &im, texts);
		failures = rc < 0 ? failures + 1 : 0;
		if (stopping)
			break;
		int wait = (*cp)->poll_interval;
		if (sms && wait > (*cp)->sms_poll_interval)
			wait = (*cp)->sms_poll_interval;
		if (failures) {
			/* Back off while a server is away, up to the poll interval. */
			wait = failures < 5 ? 1 << failures : (*cp)->poll_interval;
			if (wait > (*cp)->poll_interval)
				wait = (*cp)->poll_interval;
		}
		if (im && (*cp)->imap_idle && imap_has_idle(im) && !failures) {
			char err[512];
			if (db_outbox_pending_count(*dbp) > 0 && wait > r.cfg->retry_min)
				wait = r.cfg->retry_min;
			if (imap_idle(im, wait, err, sizeof err) < 0) {
				log_warn("mailbox: IDLE ended: %s", err);
				imap_close(im);
				im = NULL;
			}
		} else {
			nap(wait);
		}
	}
	imap_close(im);
	sms_close(sms);
	log_info("relay stopped");
	return EXIT_OK;
}

/* ---- check ----------------------------------------------------------------- */

struct check_state {
	int failed;
};

static void report(struct check_state *st, int ok, const char *what, const char *detail)
{
	printf("%-4s %s%s%s\n", ok ? "OK" : "FAIL", what, detail && *detail ? ": " : "", detail ? detail : "");
	if (!ok)
		st->failed++;
}

static void template_report(void *arg, const char *name, const char *problem)
{
	char what[128];
	snprintf(what, sizeof what, "template %s", name);
	report(arg, problem == NULL, what, problem);
}

static int cmd_check(const char *path)
{
	struct check_state st = { 0 };
	struct config *c = NULL;
	char err[1024], what[512];

	if (config_load(path, &c, err, sizeof err) < 0) {
		report(&st, 0, "configuration", err);
		return EXIT_CONFIG;
	}
	report(&st, 1, "configuration", path);
	setenv("TZ", c->timezone, 1);
	tzset();
	if (config_load_secrets(c, err, sizeof err) < 0) {
		report(&st, 0, "secret files", err);
		config_free(c);
		return EXIT_FAILED;
	}
	report(&st, 1, "secret files", "present and private (mode 0600 or stricter)");
	template_check_all(c->templates, template_report, &st);
	{
		char *week = hours_describe(&c->hours), *next = hours_next_open_text(&c->hours, relay_clock());
		char line[512];
		int open = hours_is_open(&c->hours, relay_clock());
		snprintf(line, sizeof line, "%s (%s); %zu bank holidays from %s; %s%s", week, c->timezone,
		         c->hours.nholidays, c->bank_holidays ? c->bank_holidays : "(none)",
		         open ? "open now" : "closed now, opens ", open ? "" : next ? next : "never");
		report(&st, 1, "office hours", line);
		free(week);
		free(next);
		snprintf(line, sizeof line, "%zu phrases from %s", c->urgent ? triage_count(c->urgent) : (size_t)0,
		         c->urgent_phrases ? c->urgent_phrases : "(none)");
		report(&st, c->urgent && triage_count(c->urgent) > 0, "urgent triage", line);
	}

	struct db *db = NULL;
	if (db_open(c->database, &db, err, sizeof err) < 0) {
		report(&st, 0, "database", err);
	} else {
		snprintf(what, sizeof what, "%s (schema %d, %d message%s waiting in the outbox)", c->database,
		         db_schema_version(db), db_outbox_pending_count(db), db_outbox_pending_count(db) == 1 ? "" : "s");
		report(&st, 1, "database", what);
		db_close(db);
	}

	struct relay r = { c, NULL, relay_clock(), NULL, NULL };
	struct imap *im = NULL;
	snprintf(what, sizeof what, "imap %s:%d (%s)", c->imap_host, c->imap_port, net_security_name(c->imap_security));
	if (mailbox_open(&r, &im, err, sizeof err) < 0) {
		report(&st, 0, what, err);
	} else {
		char detail[256];
		snprintf(detail, sizeof detail, "logged in, mailbox %s selected%s", c->imap_mailbox,
		         imap_has_idle(im) ? ", IDLE offered" : "");
		report(&st, 1, what, detail);
		imap_close(im);
	}

	struct smtp_settings ss = {
		.host = c->smtp_host,
		.port = c->smtp_port,
		.security = c->smtp_security,
		.username = c->smtp_username,
		.password = c->smtp_password,
		.ca_file = c->smtp_ca_file,
		.timeout = c->smtp_timeout,
	};
	snprintf(what, sizeof what, "smtp %s:%d (%s)", c->smtp_host, c->smtp_port, net_security_name(c->smtp_security));
	if (smtp_check(&ss, err, sizeof err) < 0)
		report(&st, 0, what, err);
	else
		report(&st, 1, what, c->smtp_username ? "TLS verified, logged in" : "connected");

	if (config_has_sms(c)) {
		struct sms_settings sset;
		struct sms_gateway *g = NULL;
		sms_settings(c, &sset);
		snprintf(what, sizeof what, "sms %s %s", c->sms_provider, c->sms_url);
		if (sms_open(&sset, &g, err, sizeof err) < 0) {
			report(&st, 0, what, err);
		} else {
			enum sms_result res = g->provider->check(g, err, sizeof err);
			if (res == SMS_OK)
				report(&st, 1, what, "authenticated");
			else if (res == SMS_AUTH)
				report(&st, 0, what, "the gateway refused the credentials (401/403): check [sms] account, username "
				                     "and password_file");
			else
				report(&st, 0, what, err);
			sms_close(g);
		}
	} else {
		report(&st, 1, "sms", "not configured ([sms] provider = none)");
	}
	config_free(c);
	return st.failed ? EXIT_FAILED : EXIT_OK;
}

/* ---- list and show ---------------------------------------------------------- */

static void when(long long t, char *out, size_t n)
{
	time_t tt = (time_t)t;
	struct tm tm;
	localtime_r(&tt, &tm);
	strftime(out, n, "%Y-%m-%d %H:%M", &tm);
}

static void list_one(void *arg, const struct conversation *c, int messages)
{
	char at[32];
	(void)arg;
	when(c->last_activity, at, sizeof at);
	printf("%-12s %-7s %-7s %-17s %5d\n", c->ref, c->channel, c->state, at, messages);
}

static int cmd_list(struct db *db)
{
	printf("%-12s %-7s %-7s %-17s %5s\n", "REFERENCE", "CHANNEL", "STATE", "LAST ACTIVITY", "MSGS");
	return db_list_conversations(db, list_one, NULL) < 0 ? EXIT_FAILED : EXIT_OK;
}

static void show_message(void *arg, const struct message_row *m)
{
	char at[32];
	(void)arg;
	when(m->at, at, sizeof at);
	const char *who = !strcmp(m->kind, "inbound")     ? "young person"
	                  : !strcmp(m->kind, "reply")     ? "adviser reply, sent"
	                  : !strcmp(m->kind, "held")      ? "HELD, not relayed"
	                  : !strcmp(m->kind, "automatic") ? "automatic mail, not answered"
	                  : !strcmp(m->kind, "note")      ? "NOTE (advisers only)"
	                  : !strcmp(m->kind, "command")   ? "command"
	                                                  : m->kind;
	printf("\n--- %s  %s (%s)%s%s\n", at, who, m->channel, m->author ? "  by " : "", m->author ? m->author : "");
	if (m->detail)
		printf("    note: %s\n", m->detail);
	if (m->subject)
		printf("    subject: %s\n", m->subject);
	if (m->attachments)
		printf("    attachments (not forwarded):\n      %s", m->attachments);
	printf("%s%s", m->body ? m->body : "", m->body && m->body[0] && m->body[strlen(m->body) - 1] != '\n' ? "\n" : "");
}

static void show_delivery(void *arg, const struct outbox_row *o)
{
	char at[32];
	(void)arg;
	when(o->created_at, at, sizeof at);
	char what[96] = "";
	if (!strcmp(o->channel, "sms"))
		snprintf(what, sizeof what, "text, %d part%s%s%s", o->parts, o->parts == 1 ? "" : "s",
		         o->delivery ? ", delivery: " : "", o->delivery ? o->delivery : "");
	else if (!strcmp(o->state, "sent"))
		snprintf(what, sizeof what, "accepted by the mail server");
	printf("  %s  %-9s %-7s %s (attempts %d)%s%s\n", at, o->kind, o->state, what, o->attempts,
	       o->last_error ? ": " : "", o->last_error ? o->last_error : "");
}

static int cmd_show(struct config *cfg, struct db *db, const char *ref)
{
	struct conversation c;
	char at[32];
	int rc = db_conversation_by_ref(db, ref, &c);
	if (rc != 0) {
		fprintf(stderr, "relay: no conversation %s\n", ref);
		return EXIT_FAILED;
	}
	char *masked = !strcmp(c.channel, "sms") ? phone_mask(c.contact) : mask_email(c.contact);
	when(c.created_at, at, sizeof at);
	printf("Conversation %s\n  channel:  %s\n  contact:  %s\n  state:    %s%s\n  started:  %s\n", c.ref, c.channel,
	       masked, c.state, c.urgent ? " (URGENT)" : "", at);
	(void)cfg;
	free(masked);
	db_transcript(db, c.id, show_message, NULL);
	printf("\nDeliveries:\n");
	db_outbox_for(db, c.id, show_delivery, NULL);
	conversation_free(&c);
	return EXIT_OK;
}

int main(int argc, char **argv)
{
	const char *path = getenv("RELAY_CONFIG") ? getenv("RELAY_CONFIG") : DEFAULT_CONFIG;
	int verbose = 0, opt;
	static const struct option longopts[] = { { "help", no_argument, NULL, 'h' },
	                                          { "config", required_argument, NULL, 'c' },
	                                          { NULL, 0, NULL, 0 } };

	while ((opt = getopt_long(argc, argv, "+c:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 'c': path = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[optind];
	int nargs = argc - optind - 1;
	log_init("relay", 0, verbose ? LOG_LVL_DEBUG : LOG_LVL_INFO);
	set_signals();
	curl_global_init(CURL_GLOBAL_DEFAULT);
	atexit(curl_global_cleanup);

	if (!strcmp(cmd, "help")) {
		usage(stdout);
		return EXIT_OK;
	}
	if (!strcmp(cmd, "check"))
		return nargs ? (usage(stderr), EXIT_USAGE) : cmd_check(path);

	int needs_ref = !strcmp(cmd, "show");
	if (strcmp(cmd, "run") && strcmp(cmd, "poll") && strcmp(cmd, "list") && !needs_ref) {
		fprintf(stderr, "relay: unknown command '%s' (try relay --help)\n", cmd);
		return EXIT_USAGE;
	}
	if (nargs != needs_ref) {
		fprintf(stderr, "relay: %s takes %s\n", cmd, needs_ref ? "one reference, e.g. relay show RUS-7K3F2" : "no arguments");
		return EXIT_USAGE;
	}

	struct config *c = NULL;
	struct db *db = NULL;
	int network = !strcmp(cmd, "run") || !strcmp(cmd, "poll");
	if (load(path, &c, network) < 0)
		return EXIT_CONFIG;
	if (verbose)
		log_set_level(LOG_LVL_DEBUG);
	if (open_db(c, &db) < 0) {
		config_free(c);
		return EXIT_FAILED;
	}
	int rc;
	if (!strcmp(cmd, "run"))
		rc = cmd_run(path, &c, &db);
	else if (!strcmp(cmd, "poll"))
		rc = cmd_poll(c, db);
	else if (!strcmp(cmd, "list"))
		rc = cmd_list(db);
	else
		rc = cmd_show(c, db, argv[optind + 1]);
	db_close(db);
	config_free(c);
	return rc;
}
