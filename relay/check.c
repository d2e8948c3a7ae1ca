/* check.c: `relay check` (see check.h). */
#include "check.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "db.h"
#include "files.h"
#include "health.h"
#include "hours.h"
#include "imap.h"
#include "mailbox.h"
#include "oauth.h"
#include "outbox.h"
#include "process.h"
#include "relay.h"
#include "settings.h"
#include "sms.h"
#include "smtp.h"
#include "template.h"
#include "termsafe.h"
#include "triage.h"
#include "util.h"

/* The process's exit status (as main.c's). */
enum { CHECK_OK = 0, CHECK_FAILED = 1, CHECK_NO_CONFIG = 3 };

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
		; /* each one reported: what follows is only advice */
	else if (stat(dir, &sb) == 0 && (sb.st_mode & 077)) {
		snprintf(line, sizeof line,
		         "the database directory %s is open to group or others (mode %04o): chmod 0700 %s", dir,
		         (unsigned)(sb.st_mode & 07777), dir);
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

int check_run(const char *path)
{
	struct check_state st = { 0 };
	struct config *c = NULL;
	char err[1024], what[512];

	if (config_load(path, &c, err, sizeof err) < 0) {
		report(&st, 0, "configuration", err);
		return CHECK_NO_CONFIG;
	}
	report(&st, 1, "configuration", path);
	setenv("TZ", c->timezone, 1);
	tzset();
	if (config_load_secrets(c, err, sizeof err) < 0) {
		report(&st, 0, "secret files", err);
		config_free(c);
		return CHECK_FAILED;
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
		         open ? "open now" : "closed now, opens ",
		         open   ? ""
		         : next ? next
		                : "never");
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
			report(&st, 1, "advisers",
			       "replies must be sent from a mailbox of the Exchange Online organisation "
			       "(X-MS-Exchange-Organization-AuthAs: Internal) or carry a DMARC pass or a DKIM signature of the "
			       "adviser's domain in Exchange Online's Authentication-Results header");
		else {
			snprintf(line, sizeof line,
			         "replies must carry a DMARC pass or a DKIM signature of the adviser's "
			         "domain in the Authentication-Results header written by %s",
			         c->authserv_id);
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
			snprintf(line, sizeof line,
			         "nobody is told when a part fails ([health] alert_to and alert_sms are "
			         "empty): only relay status and the journal show it");
		else
			snprintf(line, sizeof line,
			         "email to %s, texts to %s; after %s failing, reminders every %s, a "
			         "message waiting %s to be forwarded; metrics %s",
			         to.len ? buf_str(&to) : "nobody", c->health_alert_sms ? "the on-call number" : "nobody",
			         after, remind, backlog, c->health_metrics_file ? c->health_metrics_file : "not written");
		report(&st, 1, "health alerts", line);
		buf_free(&to);
	}

	if (config_uses_oauth(c))
		oauth_check(c, relay_clock(), oauth_report, &st); /* the token first: the logins need it */

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
			report(&st, 1, what,
			       "token issued and taken by Graph; a probe that cannot be sent was refused as "
			       "malformed (Mail.Send and the access policy show at the first send)");
	} else {
		struct smtp_settings ss;
		settings_smtp(c, &ss); /* with auth = oauth2, a token (login.h) */
		snprintf(what, sizeof what, "smtp %s:%d (%s)", c->smtp_host, c->smtp_port,
		         net_security_name(c->smtp_security));
		if (smtp_check(&ss, err, sizeof err) < 0)
			report(&st, 0, what, err);
		else
			report(&st, 1, what,
			       !c->smtp_username ? "connected"
			       : ss.token        ? "TLS verified, logged in with an OAuth2 token (XOAUTH2)"
			                         : "TLS verified, logged in");
	}

	if (config_has_sms(c)) {
		struct sms_settings sset;
		struct sms_gateway *g = NULL;
		settings_sms(c, &sset);
		snprintf(what, sizeof what, "sms %s %s", c->sms_provider, c->sms_url);
		if (sms_open(&sset, &g, err, sizeof err) < 0) {
			report(&st, 0, what, err);
		} else {
			enum sms_result res = g->provider->check(g, err, sizeof err);
			if (res == SMS_OK)
				report(&st, 1, what, "authenticated");
			else if (res == SMS_AUTH)
				report(&st, 0, what,
				       "the gateway refused the credentials (401/403): check [sms] account, username "
				       "and password_file");
			else
				report(&st, 0, what, err);
			sms_close(g);
		}
	} else {
		report(&st, 1, "sms", "not configured ([sms] provider = none)");
	}
	config_free(c);
	return st.failed ? CHECK_FAILED : CHECK_OK;
}
