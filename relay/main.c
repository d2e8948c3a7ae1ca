/* main.c: the relay's command line. */
#include <errno.h>
#include <getopt.h>
#include <pwd.h>
#include <sys/stat.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alerts.h"
#include "config.h"
#include "db.h"
#include "files.h"
#include "health.h"
#include "hours.h"
#include "imap.h"
#include "log.h"
#include "mailbox.h"
#include "notify.h"
#include "oauth.h"
#include "outbox.h"
#include "phone.h"
#include "process.h"
#include "reference.h"
#include "relay.h"
#include "sms.h"
#include "smsbox.h"
#include "smtp.h"
#include "template.h"
#include "termsafe.h"
#include "tools.h"
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

static int verbosity;   /* -q: -1, -v: 1 */
static int stays_root;  /* [service] user = root, started as root */

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
	s->send_timeout = c->sms_send_timeout;
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
 * texts: poll the SMS gateway this time. Each part's outcome is noted in
 * r->health (when there is one); a failure the disk caused is the disk's. */
static int cycle(struct relay *r, struct imap **im, int texts)
{
	char err[1024];
	int ok = 0;
	unsigned long disk = db_disk_failures(r->db), start = disk;

	r->now = relay_clock();
	if (texts && r->sms) {
		if (smsbox_poll(r, err, sizeof err) < 0) {
			if (!disk_failed_since(r, disk)) {
				log_error("sms %s: %s", r->sms->provider->name, err);
				health_fail(r->health, HEALTH_SMS_POLL, err, relay_clock());
			}
			ok = -1;
		} else {
			health_ok(r->health, HEALTH_SMS_POLL, relay_clock());
		}
		notify_keepalive();
	}
	r->now = relay_clock();
	if (!*im && mailbox_open(r, im, err, sizeof err) < 0) {
		log_error("%s", err);
		health_fail(r->health, HEALTH_INBOX, err, relay_clock());
		*im = NULL;
		ok = -1;
	}
	disk = db_disk_failures(r->db);
	if (*im && mailbox_poll(r, *im, err, sizeof err) < 0) {
		if (!disk_failed_since(r, disk)) {
			log_error("mailbox: %s", err);
			health_fail(r->health, HEALTH_INBOX, err, relay_clock());
		}
		imap_close(*im);
		*im = NULL;
		ok = -1;
	} else if (*im) {
		health_ok(r->health, HEALTH_INBOX, relay_clock());
	}
	notify_keepalive();
	/* Nothing is sent while its outcome could not be recorded: it would go twice. */
	if (!db_has_room(r->db)) {
		health_fail(r->health, HEALTH_DISK, db_error(r->db), relay_clock());
		return -1;
	}
	r->now = relay_clock();
	/* Conversations with no activity for close_after_days close by themselves. */
	int closed = db_close_inactive(r->db, r->now - (long long)r->cfg->close_after_days * 86400, r->now);
	if (closed > 0)
		log_info("%d conversation%s closed after %d days without activity", closed, closed == 1 ? "" : "s",
		         r->cfg->close_after_days);
	if (outbox_flush(r, err, sizeof err) < 0)
		ok = -1;
	notify_keepalive();
	if (texts && r->sms && outbox_track_deliveries(r) < 0)
		ok = -1;
	if (outbox_alert_stale(r) > 0)
		(void)outbox_flush(r, err, sizeof err);   /* the alerts themselves, at once */
	if (disk_failed_since(r, start))
		health_fail(r->health, HEALTH_DISK, db_error(r->db), relay_clock());
	else
		health_ok(r->health, HEALTH_DISK, relay_clock());
	notify_keepalive();
	return ok;
}

static int cmd_poll(struct config *c, struct db *db)
{
	struct relay r = { .cfg = c, .db = db, .now = relay_clock(), .stopping = &stopping, .sms = open_sms(c) };
	struct imap *im = NULL;
	int rc = cycle(&r, &im, 1);
	outbox_end(&r);
	if (config_has_sms(c) && !r.sms)
		rc = -1;
	imap_close(im);
	sms_close(r.sms);
	return rc == 0 ? EXIT_OK : EXIT_FAILED;
}

/* Sleeps up to ms milliseconds, waking early for a signal. */
static void nap(long long ms)
{
	for (long long i = 0; i < ms && !stopping && !reloading; i += 100)
		poll(NULL, 0, ms - i < 100 ? (int)(ms - i) : 100);
}

/* Tells systemd the one-line health when it has changed. */
static void notify_status(const struct health *h, long long now)
{
	static char last[512];
	char line[512], msg[600];
	health_summary(h, now, line, sizeof line);
	if (!strcmp(line, last))
		return;
	snprintf(msg, sizeof msg, "STATUS=%s", line);
	if (notify_send(msg) == 0)
		snprintf(last, sizeof last, "%s", line);
}

static int cmd_run(const char *path, struct config **cp, struct db **dbp)
{
	struct imap *im = NULL;
	struct sms_gateway *sms = open_sms(*cp);
	long long last_texts = 0, last_purge = 0;
	int failures = 0;
	struct health health;

	memset(&health, 0, sizeof health);
	health.started = relay_clock();
	health.sms = config_has_sms(*cp);
	{
		struct relay r0 = { .cfg = *cp, .db = *dbp, .now = health.started };
		alerts_restore(&r0, &health);
	}
	log_info("relay started: %s, polling every %ds%s", (*cp)->name, (*cp)->poll_interval,
	         (*cp)->imap_idle ? ", IDLE when offered" : "");
	if (stays_root)
		log_warn("running as root because [service] user = root: a service should run as its own user");
	/* The configuration and the database are good: systemd may count the
	 * service started. */
	(void)notify_send("READY=1\nSTATUS=starting: first poll");
	if (notify_watchdog_ms())
		log_info("systemd watchdog: a keep-alive every %lld ms", notify_watchdog_ms());
	while (!stopping) {
		notify_keepalive();
		if (reloading) {
			struct config *fresh = NULL;
			reloading = 0;
			(void)notify_send("RELOADING=1");
			if (load(path, &fresh, 1) == 0) {
				struct db *db2 = NULL;
				if (strcmp(fresh->database, (*cp)->database) == 0 || open_db(fresh, &db2) == 0) {
					imap_close(im);
					im = NULL;
					if (db2) {
						db_close(*dbp);
						*dbp = db2;
					}
					oauth_reset();   /* its sources borrow the old configuration */
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
			(void)notify_send("READY=1");
		}
		if (!sms && config_has_sms(*cp))
			sms = open_sms(*cp);
		health.sms = config_has_sms(*cp);
		if (health.sms && !sms)
			health_fail(&health, HEALTH_SMS_POLL, "the SMS gateway cannot be opened (the journal says why)",
			            relay_clock());
		struct relay r = { .cfg = *cp, .db = *dbp, .now = relay_clock(), .stopping = &stopping, .sms = sms,
		                   .health = &health };
		/* Texts are polled on their own interval; IDLE never holds them up. */
		int texts = r.now - last_texts >= (*cp)->sms_poll_interval;
		if (texts)
			last_texts = r.now;
		int rc = cycle(&r, &im, texts);
		if (!stopping && r.now - last_purge >= 86400) {
			/* Retention, once a day: text kept past retention_days after closing goes. */
			struct tools t = { .r = &r, .operator = "relay" };
			last_purge = r.now;
			(void)tools_purge(&t, 0, "retention", 1);
		}
		outbox_end(&r);
		alerts_run(&r, &health);
		notify_status(&health, r.now);
		notify_keepalive();
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
		/* The watchdog's keep-alives come from this loop only: it wakes in
		 * time for the next one, a cycle sooner than it would have. */
		long long due = notify_due_in_ms();
		if (due >= 0 && due < (long long)wait * 1000)
			wait = due < 1000 ? 1 : (int)(due / 1000);
		if (im && (*cp)->imap_idle && imap_has_idle(im) && !failures) {
			char err[512];
			if (db_outbox_pending_count(*dbp) > 0 && wait > r.cfg->retry_min)
				wait = r.cfg->retry_min;
			if (imap_idle(im, wait, (*cp)->imap_check_interval_ms, err, sizeof err) < 0) {
				log_warn("mailbox: IDLE ended: %s", err);
				imap_close(im);
				im = NULL;
			}
		} else {
			nap(due >= 0 && due < (long long)wait * 1000 ? due : (long long)wait * 1000);
		}
	}
	(void)notify_send("STOPPING=1");
	{
		struct relay r = { .cfg = *cp, .db = *dbp, .now = relay_clock() };
		alerts_save(&r, &health, "stopped");
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
	termsafe_printf(stdout, 1, "%-4s %s%s%s\n", ok ? "OK" : "FAIL", what, detail && *detail ? ": " : "",
	                detail ? detail : "");
	if (!ok)
		st->failed++;
}

static void template_report(void *arg, const char *name, const char *problem)
{
	char what[128];
	snprintf(what, sizeof what, "template %s", name);
	report(arg, problem == NULL, what, problem);
}

static void oauth_report(void *arg, int ok, const char *what, const char *detail)
{
	report(arg, ok, what, detail);
}

static void files_problem(void *arg, const char *problem)
{
	report(arg, 0, "files", problem);
}

/* What every start refuses (files.h), then what only check reports: the
 * database and its directory should be private, not only unwritable. */
static void files_report(struct check_state *st, const struct config *c)
{
	struct stat sb;
	char line[600], *dir = xstrdup(c->database), *slash = strrchr(dir, '/');
	const char *database = c->database;
	if (slash)
		*(slash == dir ? slash + 1 : slash) = '\0';
	else
		strcpy(dir, ".");
	if (files_check(c, geteuid(), files_problem, st) > 0)
		;   /* each one reported: what follows is only advice */
	else if (stat(dir, &sb) == 0 && (sb.st_mode & 077)) {
		snprintf(line, sizeof line, "the database directory %s is open to group or others (mode %04o): chmod 0700 %s",
		         dir, (unsigned)(sb.st_mode & 07777), dir);
		report(st, 0, "files", line);
	} else if (stat(database, &sb) == 0 && (sb.st_mode & 077)) {
		snprintf(line, sizeof line, "%s is open to group or others (mode %04o): chmod 0600 %s", database,
		         (unsigned)(sb.st_mode & 07777), database);
		report(st, 0, "files", line);
	} else {
		snprintf(line, sizeof line, "%s, templates, data and secret files not writable by others; %s private",
		         c->path, dir);
		report(st, 1, "files", line);
	}
	free(dir);
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
	{
		/* From here on, check as the user the daemon will be. */
		int was_root = geteuid() == 0;
		int dropped = process_drop_root(c->user, err, sizeof err);
		struct passwd *pw = getpwuid(geteuid());
		if (dropped < 0)
			report(&st, 0, "user", err);
		else if (dropped == 1)
			report(&st, 1, "user", "root ([service] user = root: a service should run as its own user)");
		else {
			snprintf(what, sizeof what, "%s%s", pw ? pw->pw_name : "?", was_root ? " (root dropped)" : "");
			report(&st, 1, "user", what);
		}
		files_report(&st, c);
	}
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
		/* Who may answer a young person: said loudly when it is anyone who
		 * writes an adviser's address (a warning, not a failure). */
		if (!strcmp(c->adviser_authentication, "none"))
			printf("WARN advisers: [advisers] authentication = none: a reply is trusted on its From header alone, "
			       "so anyone who writes an adviser's address can answer a young person; set authentication = "
			       "dmarc and authserv_id once your mail server writes Authentication-Results\n");
		else if (!strcmp(c->adviser_authentication, "exchange"))
			report(&st, 1, "advisers", "replies must be sent from a mailbox of the Exchange Online organisation "
			       "(X-MS-Exchange-Organization-AuthAs: Internal) or carry a DMARC pass or a DKIM signature of the "
			       "adviser's domain in Exchange Online's Authentication-Results header");
		else {
			snprintf(line, sizeof line, "replies must carry a DMARC pass or a DKIM signature of the adviser's "
			         "domain in the Authentication-Results header written by %s", c->authserv_id);
			report(&st, 1, "advisers", line);
		}
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

	{
		/* Who hears when a part fails, and after how long (README: health). */
		char after[32], remind[32], backlog[32], line[1024];
		struct buf to;
		buf_init(&to);
		for (size_t i = 0; i < c->health_alert_to.n; i++)
			buf_printf(&to, "%s%s", i ? ", " : "", c->health_alert_to.items[i]);
		health_duration_text(c->health_alert_after, after, sizeof after);
		health_duration_text(c->health_remind_every, remind, sizeof remind);
		health_duration_text(c->health_backlog_after, backlog, sizeof backlog);
		if (!to.len && !c->health_alert_sms)
			snprintf(line, sizeof line, "nobody is told when a part fails ([health] alert_to and alert_sms are "
			         "empty): only relay status and the journal show it");
		else
			snprintf(line, sizeof line, "email to %s, texts to %s; after %s failing, reminders every %s, a "
			         "message waiting %s to be forwarded; metrics %s",
			         to.len ? buf_str(&to) : "nobody", c->health_alert_sms ? "the on-call number" : "nobody", after,
			         remind, backlog, c->health_metrics_file ? c->health_metrics_file : "not written");
		report(&st, 1, "health alerts", line);
		buf_free(&to);
	}

	if (config_uses_oauth(c))
		oauth_check(c, relay_clock(), oauth_report, &st);   /* the token first: the logins need it */

	struct relay r = { .cfg = c, .now = relay_clock() };
	struct imap *im = NULL;
	snprintf(what, sizeof what, "imap %s:%d (%s)", c->imap_host, c->imap_port, net_security_name(c->imap_security));
	if (mailbox_open(&r, &im, err, sizeof err) < 0) {
		/* the line already names the server: drop the error's own "imap HOST:PORT: " */
		const char *why = err, *colon = strstr(err, ": ");
		if (!strncmp(err, "imap ", 5) && colon)
			why = colon + 2;
		report(&st, 0, what, why);
	} else {
		char detail[256];
		snprintf(detail, sizeof detail, "logged in%s, mailbox %s selected%s",
		         !strcmp(c->imap_auth, "oauth2") ? " with an OAuth2 token (XOAUTH2)" : "", c->imap_mailbox,
		         imap_has_idle(im) ? ", IDLE offered" : "");
		report(&st, 1, what, detail);
		imap_close(im);
	}

	if (outbox_uses_graph(c)) {
		/* graph.h: a token, then a sendMail request that cannot be a message */
		snprintf(what, sizeof what, "smtp graph %s", c->oauth_graph_url);
		if (outbox_transport_check(c, err, sizeof err) < 0)
			report(&st, 0, what, err);
		else
			report(&st, 1, what, "token issued and taken by Graph; a probe that cannot be sent was refused as "
			                     "malformed (Mail.Send and the access policy show at the first send)");
	} else {
		struct smtp_settings ss;
		outbox_smtp_settings(c, &ss);   /* with auth = oauth2, a token (login.h) */
		snprintf(what, sizeof what, "smtp %s:%d (%s)", c->smtp_host, c->smtp_port, net_security_name(c->smtp_security));
		if (smtp_check(&ss, err, sizeof err) < 0)
			report(&st, 0, what, err);
		else
			report(&st, 1, what, !c->smtp_username ? "connected"
			                     : ss.token ? "TLS verified, logged in with an OAuth2 token (XOAUTH2)"
			                                : "TLS verified, logged in");
	}

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

/* Reads "YYYY-MM-DD" as local midnight in the service's zone: exactly that
 * form, and a day the calendar has (2026-02-30 is refused, not March 2). */
static int parse_date(const char *text, long long *out)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (strlen(text) != 10 || strspn(text, "0123456789") != 4 || text[4] != '-' ||
	    strspn(text + 5, "0123456789") != 2 || text[7] != '-' || strspn(text + 8, "0123456789") != 2)
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
	int ref;          /* takes a conversation reference */
	int secrets;      /* needs passwords and the signing key (talks to servers) */
	int sms;          /* opens the SMS gateway */
	const char *flags;   /* the options it accepts, space-separated */
} commands[] = {
	{ "run", 0, 1, 1, "" },          { "poll", 0, 1, 1, "" },      { "list", 0, 0, 0, "--open --urgent" },
	{ "show", 1, 0, 0, "" },         { "close", 1, 0, 0, "" },     { "reopen", 1, 0, 0, "" },
	{ "send", 1, 1, 1, "" },         { "stats", 0, 0, 0, "--since" }, { "export", 1, 0, 0, "" },
	{ "purge", 0, 0, 0, "--dry-run" }, { "retry", 1, 1, 1, "" },
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
		case 'c': path = optarg; break;
		case 'v': verbosity = 1; break;
		case 'q': verbosity = -1; break;
		case 'j': json = 1; break;
		case 'h': usage(stdout); return EXIT_OK;
		case 'V': printf("relay (%s)\n", relay_build()); return EXIT_OK;
		default: usage(stderr); return EXIT_USAGE;
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
		return argc - optind > 1 ? (usage(stderr), EXIT_USAGE) : cmd_check(path);

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
		termsafe_printf(stderr, 1, "relay: --since %s: not a date; expected YYYY-MM-DD, a day the calendar has "
		                "(from 1970-01-01), e.g. 2026-02-28\n", since_text);
		config_free(c);
		return EXIT_USAGE;
	}
	if (open_db(c, &db) < 0) {
		config_free(c);
		return EXIT_FAILED;
	}
	int rc;
	char *who = process_operator();
	struct relay r = { .cfg = c, .db = db, .now = relay_clock(), .stopping = &stopping };
	struct tools t = { .r = &r, .json = json, .operator = who };
	if (!strcmp(cmd, "run"))
		rc = cmd_run(path, &c, &db);
	else if (!strcmp(cmd, "poll"))
		rc = cmd_poll(c, db);
	else if (!strcmp(cmd, "list"))
		rc = tools_list(&t, open_only ? DB_LIST_OPEN : urgent_only ? DB_LIST_URGENT : DB_LIST_ALL);
	else if (!strcmp(cmd, "show"))
		rc = tools_show(&t, ref);
	else if (!strcmp(cmd, "export"))
		rc = tools_export(&t, ref);
	else if (!strcmp(cmd, "close") || !strcmp(cmd, "reopen"))
		rc = tools_set_state(&t, ref, !strcmp(cmd, "reopen"));
	else if (!strcmp(cmd, "send")) {
		r.sms = open_sms(c);
		rc = tools_send(&t, ref, stdin);
		sms_close(r.sms);
	} else if (!strcmp(cmd, "retry")) {
		r.sms = open_sms(c);
		rc = tools_retry(&t, ref);
		sms_close(r.sms);
	} else if (!strcmp(cmd, "stats"))
		rc = tools_stats(&t, since);
	else if (!strcmp(cmd, "status"))
		rc = tools_status(&t);
	else
		rc = tools_purge(&t, dry_run, who, 0);
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
