/* Unit tests for health.c: each part's state, and the decisions to alert,
 * remind and say recovered, as pure functions of (state, now, thresholds). */
#include <stdlib.h>

#include "check.h"
#include "health.h"

static const struct health_thresholds T = { .alert_after = 600, .remind_every = 3600, .backlog_after = 900 };

static void fmt(long long t, char *out, size_t outlen)
{
	snprintf(out, outlen, "T%lld", t);
}

static struct health fresh(int sms)
{
	struct health h;
	memset(&h, 0, sizeof h);
	h.sms = sms;
	return h;
}

static void names(void)
{
	for (int p = 0; p < HEALTH_NPARTS; p++) {
		char what[64];
		snprintf(what, sizeof what, "name %d round trip", p);
		CHECK_INT(what, health_part_from_name(health_part_name(p)), p);
	}
	CHECK_INT("unknown name", health_part_from_name("relay"), -1);
	CHECK_INT("NULL name", health_part_from_name(NULL), -1);
	CHECK_STR("state names", health_state_name(HEALTH_FAILING), "failing");
	CHECK_STR("unknown state", health_state_name(HEALTH_UNKNOWN), "unknown");
}

/* A part failing: nothing before alert_after, one alert at it, nothing
 * inside the reminder interval, a reminder at it, recovery once ok. */
static void incident(enum health_part p)
{
	struct health h = fresh(1);
	char n[128];
	const char *name = health_part_name(p);

#define AT(what) (snprintf(n, sizeof n, "%s: %s", name, what), n)
	CHECK_INT(AT("unknown: nothing"), health_decide(&h, p, 1000, &T), HEALTH_NOTHING);
	health_ok(&h, p, 1000);
	CHECK_INT(AT("ok: nothing"), health_decide(&h, p, 1000, &T), HEALTH_NOTHING);
	CHECK_INT(AT("ok: last success"), h.part[p].last_ok, 1000);
	health_fail(&h, p, "login refused (check username and password_file): [AUTHENTICATIONFAILED]", 2000);
	CHECK_INT(AT("failing"), h.part[p].state, HEALTH_FAILING);
	CHECK_INT(AT("since the first failure"), h.part[p].failing_since, 2000);
	CHECK_INT(AT("last success kept"), h.part[p].last_ok, 1000);
	health_fail(&h, p, "again", 2300);
	CHECK_INT(AT("a second failure keeps the start"), h.part[p].failing_since, 2000);
	CHECK_STR(AT("and takes the latest reason"), h.part[p].reason, "again");
	CHECK_INT(AT("before alert_after: nothing"), health_decide(&h, p, 2599, &T), HEALTH_NOTHING);
	CHECK_INT(AT("at alert_after: alert"), health_decide(&h, p, 2600, &T), HEALTH_ALERT);
	health_sent(&h, p, HEALTH_ALERT, 2600);
	CHECK_INT(AT("alert recorded"), h.part[p].alerted_at, 2600);
	CHECK_INT(AT("one alert"), h.part[p].alerts, 1);
	CHECK_INT(AT("counted"), h.alerts_sent, 1);
	CHECK_INT(AT("not repeated at once"), health_decide(&h, p, 2601, &T), HEALTH_NOTHING);
	CHECK_INT(AT("nor inside the interval"), health_decide(&h, p, 2600 + 3599, &T), HEALTH_NOTHING);
	CHECK_INT(AT("reminder at the interval"), health_decide(&h, p, 2600 + 3600, &T), HEALTH_REMIND);
	health_sent(&h, p, HEALTH_REMIND, 6200);
	CHECK_INT(AT("two sent"), h.part[p].alerts, 2);
	CHECK_INT(AT("next reminder counted from this one"), health_decide(&h, p, 6200 + 3599, &T), HEALTH_NOTHING);
	CHECK_INT(AT("and then due"), health_decide(&h, p, 6200 + 3600, &T), HEALTH_REMIND);
	health_ok(&h, p, 7000);
	CHECK_INT(AT("works: recovered"), health_decide(&h, p, 7000, &T), HEALTH_RECOVERED);
	CHECK_INT(AT("incident start kept for the recovery message"), h.part[p].failing_since, 2000);
	CHECK_STR(AT("no reason while ok"), h.part[p].reason, "");
	CHECK_INT(AT("not failing"), health_failing(&h), 0);
	health_sent(&h, p, HEALTH_RECOVERED, 7000);
	CHECK_INT(AT("incident over"), h.part[p].failing_since, 0);
	CHECK_INT(AT("alert forgotten"), h.part[p].alerted_at, 0);
	CHECK_INT(AT("nothing after the recovery"), health_decide(&h, p, 9000, &T), HEALTH_NOTHING);
	health_fail(&h, p, "x", 9100);
	CHECK_INT(AT("a new incident starts afresh"), h.part[p].failing_since, 9100);
	CHECK_INT(AT("and waits alert_after again"), health_decide(&h, p, 9100 + 599, &T), HEALTH_NOTHING);
#undef AT
}

static void short_failures(void)
{
	struct health h = fresh(0);
	health_fail(&h, HEALTH_INBOX, "timeout", 100);
	health_ok(&h, HEALTH_INBOX, 200);
	CHECK_INT("a failure shorter than alert_after ends silently", health_decide(&h, HEALTH_INBOX, 10000, &T),
	          HEALTH_NOTHING);
	CHECK_INT("and leaves no incident", h.part[HEALTH_INBOX].failing_since, 0);
	/* Flapping after an alert: the incident carries on until the recovery is said. */
	health_fail(&h, HEALTH_INBOX, "timeout", 1000);
	health_sent(&h, HEALTH_INBOX, HEALTH_ALERT, 1600);
	health_ok(&h, HEALTH_INBOX, 1700);
	health_fail(&h, HEALTH_INBOX, "timeout", 1701);
	CHECK_INT("flapping keeps the incident's start", h.part[HEALTH_INBOX].failing_since, 1000);
	CHECK_INT("and no second alert", health_decide(&h, HEALTH_INBOX, 1702, &T), HEALTH_NOTHING);
	CHECK_INT("a NULL health notes nothing",
	          (health_ok(NULL, HEALTH_INBOX, 1), health_fail(NULL, HEALTH_SMTP, "x", 1), 0), 0);
	health_fail(&h, HEALTH_DISK, NULL, 5);
	CHECK_STR("no reason given", h.part[HEALTH_DISK].reason, "no reason given");
	health_fail(&h, HEALTH_DISK, "line one\nline two\r\tend", 5);
	CHECK_STR("a reason is one line", h.part[HEALTH_DISK].reason, "line one line two  end");
	char longr[1000];
	memset(longr, 'a', sizeof longr - 1);
	longr[sizeof longr - 1] = '\0';
	health_fail(&h, HEALTH_DISK, longr, 5);
	CHECK_INT("a long reason is cut", strlen(h.part[HEALTH_DISK].reason), sizeof h.part[HEALTH_DISK].reason - 1);
}

static void sms_parts(void)
{
	struct health h = fresh(0);
	health_fail(&h, HEALTH_SMS_POLL, "credentials refused", 0);
	CHECK_INT("without a gateway the sms parts do not count", health_failing(&h), 0);
	CHECK_INT("nor alert", health_decide(&h, HEALTH_SMS_POLL, 100000, &T), HEALTH_NOTHING);
	h.sms = 1;
	CHECK_INT("with one they do", health_failing(&h), 1);
	CHECK_INT("and alert", health_decide(&h, HEALTH_SMS_POLL, 100000, &T), HEALTH_ALERT);
}

static void backlog(void)
{
	struct health h = fresh(0);
	health_backlog(&h, 0, 0, 0, 0, &T, 5000, fmt);
	CHECK_INT("none waiting: ok", h.part[HEALTH_BACKLOG].state, HEALTH_OK);
	health_backlog(&h, 3, 5000, 1, 4000, &T, 5000 + 899, fmt);
	CHECK_INT("waiting less than backlog_after: ok", h.part[HEALTH_BACKLOG].state, HEALTH_OK);
	CHECK_INT("counted", h.waiting, 3);
	CHECK_INT("replies counted", h.replies_waiting, 1);
	CHECK_INT("oldest reply", h.replies_since, 4000);
	health_backlog(&h, 3, 5000, 0, 0, &T, 5000 + 900, fmt);
	CHECK_INT("at backlog_after: failing", h.part[HEALTH_BACKLOG].state, HEALTH_FAILING);
	CHECK_STR("reason: how many and since when", h.part[HEALTH_BACKLOG].reason,
	          "3 messages from young people are waiting to be forwarded to the advisers, the oldest since T5000 "
	          "(15 min)");
	CHECK_INT("alert at once (the threshold is in the state)", health_decide(&h, HEALTH_BACKLOG, 5900, &T),
	          HEALTH_ALERT);
	health_sent(&h, HEALTH_BACKLOG, HEALTH_ALERT, 5900);
	health_backlog(&h, 1, 5000, 0, 0, &T, 6000, fmt);
	CHECK_STR("one message", h.part[HEALTH_BACKLOG].reason,
	          "1 message from young people is waiting to be forwarded to the advisers, the oldest since T5000 "
	          "(16 min)");
	CHECK_INT("still failing, no second alert", health_decide(&h, HEALTH_BACKLOG, 6000, &T), HEALTH_NOTHING);
	health_backlog(&h, 0, 0, 0, 0, &T, 6100, fmt);
	CHECK_INT("drained: recovered", health_decide(&h, HEALTH_BACKLOG, 6100, &T), HEALTH_RECOVERED);
	CHECK_INT("waiting since cleared", h.waiting_since, 0);
}

static void routes(void)
{
	struct health h = fresh(1);
	CHECK_INT("inbox: email", health_route(&h, HEALTH_INBOX, 1, 1), HEALTH_BY_EMAIL);
	CHECK_INT("smtp: a text", health_route(&h, HEALTH_SMTP, 1, 1), HEALTH_BY_TEXT);
	CHECK_INT("smtp, no number: email still tried", health_route(&h, HEALTH_SMTP, 1, 0), HEALTH_BY_EMAIL);
	CHECK_INT("sms poll: email", health_route(&h, HEALTH_SMS_POLL, 1, 1), HEALTH_BY_EMAIL);
	CHECK_INT("sms send: email", health_route(&h, HEALTH_SMS_SEND, 1, 1), HEALTH_BY_EMAIL);
	health_fail(&h, HEALTH_SMTP, "down", 1);
	CHECK_INT("backlog while smtp fails: a text", health_route(&h, HEALTH_BACKLOG, 1, 1), HEALTH_BY_TEXT);
	CHECK_INT("inbox while smtp fails: a text", health_route(&h, HEALTH_INBOX, 1, 1), HEALTH_BY_TEXT);
	health_fail(&h, HEALTH_SMS_SEND, "credentials refused", 1);
	CHECK_INT("both failing: email (the other is the fallback)", health_route(&h, HEALTH_SMTP, 1, 1), HEALTH_BY_EMAIL);
	CHECK_INT("only a number: a text", health_route(&h, HEALTH_INBOX, 0, 1), HEALTH_BY_TEXT);
	h.sms = 0;
	health_ok(&h, HEALTH_SMS_SEND, 2);
	CHECK_INT("no gateway: email", health_route(&h, HEALTH_SMTP, 1, 1), HEALTH_BY_EMAIL);
}

static void advice(void)
{
	struct health_places w = {
		.imap_host = "imap.example.org",
		.imap_password_file = "/etc/relay/secrets/imap.password",
		.smtp_host = "smtp.example.org",
		.smtp_password_file = "/etc/relay/secrets/smtp.password",
		.sms_provider = "twilio",
		.sms_password_file = "/etc/relay/secrets/sms.password",
		.database = "/var/lib/relay/relay.db",
	};
	char what[300], todo[600];
	health_advice(HEALTH_INBOX,
	              "imap localhost:993: login refused (check username and password_file): "
	              "[AUTHENTICATIONFAILED] Authentication failed.",
	              &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("inbox password: words", what, "the mailbox password was refused");
	CHECK_STR("inbox password: what to do", todo,
	          "update /etc/relay/secrets/imap.password (and [imap] username if it changed) and reload: "
	          "systemctl reload relay");
	health_advice(HEALTH_INBOX, "imap localhost:993: cannot connect: connection refused", &w, what, sizeof what, todo,
	              sizeof todo);
	CHECK_STR("inbox down", what, "the mail server imap.example.org cannot be reached");
	health_advice(HEALTH_INBOX, "imap h:993: certificate does not match host name", &w, what, sizeof what, todo,
	              sizeof todo);
	CHECK_STR("inbox certificate", what, "the TLS certificate of the mail server imap.example.org was not accepted");
	health_advice(HEALTH_INBOX, "something odd", &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("inbox other", what, "the inbox cannot be read");
	health_advice(HEALTH_SMTP, "cannot connect to SMTP host localhost port 25: connection refused", &w, what,
	              sizeof what, todo, sizeof todo);
	CHECK_STR("smtp down", what, "the outgoing mail server smtp.example.org cannot be reached");
	health_advice(HEALTH_SMTP, "SMTP host localhost refused the login: 535 5.7.8", &w, what, sizeof what, todo,
	              sizeof todo);
	CHECK_STR("smtp password", what, "the outgoing mail password was refused");
	CHECK("smtp password: names the file", strstr(todo, "/etc/relay/secrets/smtp.password") != NULL);
	health_advice(HEALTH_SMS_POLL, "twilio: credentials refused (HTTP 401)", &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("sms credentials", what, "the SMS gateway (twilio) refused the relay's credentials");
	CHECK("sms credentials: names the file", strstr(todo, "/etc/relay/secrets/sms.password") != NULL);
	health_advice(HEALTH_SMS_SEND, "twilio: try later (HTTP 503)", &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("sms down", what, "the SMS gateway (twilio) cannot be reached or fails");
	health_advice(HEALTH_DISK, "database or disk is full", &w, what, sizeof what, todo, sizeof todo);
	CHECK("disk: names the database", strstr(todo, "/var/lib/relay/relay.db") != NULL);
	health_advice(HEALTH_BACKLOG, "3 messages", &w, what, sizeof what, todo, sizeof todo);
	CHECK_STR("backlog", what, "messages from young people are not reaching the advisers");
	struct health_places none = { 0 };
	health_advice(HEALTH_SMTP, "refused the login", &none, what, sizeof what, todo, sizeof todo);
	CHECK("no password file: said so", strstr(todo, "(not set)") != NULL);
}

static void summary(void)
{
	struct health h = fresh(1);
	char line[512];
	health_summary(&h, 100, line, sizeof line);
	CHECK_STR("nothing tried yet", line, "inbox not tried, sms not tried, smtp not tried, 0 waiting");
	health_ok(&h, HEALTH_INBOX, 100);
	health_ok(&h, HEALTH_SMS_POLL, 100);
	health_ok(&h, HEALTH_SMTP, 100);
	health_summary(&h, 100, line, sizeof line);
	CHECK_STR("all well", line, "inbox ok, sms ok, smtp ok, 0 waiting");
	health_fail(&h, HEALTH_SMTP, "down", 100);
	h.waiting = 3;
	health_summary(&h, 100 + 12 * 60 + 30, line, sizeof line);
	CHECK_STR("the issue's example", line, "inbox ok, sms ok, smtp failing for 12 min, 3 waiting");
	health_fail(&h, HEALTH_SMS_SEND, "x", 200);
	health_fail(&h, HEALTH_DISK, "full", 800);
	health_summary(&h, 830, line, sizeof line);
	CHECK_STR("sms send failing, disk", line,
	          "inbox ok, sms failing for 10 min, smtp failing for 12 min, disk failing for 30 s, 3 waiting");
	h.sms = 0;
	health_summary(&h, 100 + 3 * 3600 + 60 * 5, line, sizeof line);
	CHECK("hours", strstr(line, "smtp failing for 3 h 5 min") != NULL);
	CHECK("no sms without a gateway", strstr(line, "sms") == NULL);
}

static void metrics(void)
{
	struct health h = fresh(0);
	struct buf b;
	buf_init(&b);
	health_ok(&h, HEALTH_INBOX, 100);
	health_fail(&h, HEALTH_SMTP, "down", 50);
	health_sent(&h, HEALTH_SMTP, HEALTH_ALERT, 90);
	h.waiting = 2;
	h.waiting_since = 40;
	health_metrics(&h, 120, &b);
	const char *m = buf_str(&b);
	CHECK("inbox up", strstr(m, "relay_part_up{part=\"inbox\"} 1\n") != NULL);
	CHECK("smtp down", strstr(m, "relay_part_up{part=\"smtp\"} 0\n") != NULL);
	CHECK("disk not tried", strstr(m, "relay_part_up{part=\"disk\"} -1\n") != NULL);
	CHECK("no sms parts without a gateway", strstr(m, "sms-poll") == NULL);
	CHECK("last success", strstr(m, "relay_part_last_success_timestamp_seconds{part=\"inbox\"} 100\n") != NULL);
	CHECK("failing since", strstr(m, "relay_part_failing_since_timestamp_seconds{part=\"smtp\"} 50\n") != NULL);
	CHECK("alerts", strstr(m, "relay_part_alerts{part=\"smtp\"} 1\n") != NULL);
	CHECK("alerts total", strstr(m, "relay_alerts_sent_total 1\n") != NULL);
	CHECK("backlog", strstr(m, "relay_backlog_messages 2\n") != NULL);
	CHECK("backlog oldest", strstr(m, "relay_backlog_oldest_timestamp_seconds 40\n") != NULL);
	CHECK("unhealthy", strstr(m, "relay_healthy 0\n") != NULL);
	CHECK("every sample has its TYPE", strstr(m, "# TYPE relay_healthy gauge\n") != NULL &&
	                                           strstr(m, "# TYPE relay_alerts_sent_total counter\n") != NULL);
	CHECK("ends in a newline", b.len && m[b.len - 1] == '\n');
	buf_free(&b);
}

static void durations(void)
{
	char t[64];
	health_duration_text(-5, t, sizeof t);
	CHECK_STR("negative", t, "0 s");
	health_duration_text(59, t, sizeof t);
	CHECK_STR("seconds", t, "59 s");
	health_duration_text(60, t, sizeof t);
	CHECK_STR("a minute", t, "1 min");
	health_duration_text(7199, t, sizeof t);
	CHECK_STR("under two hours", t, "119 min");
	health_duration_text(7200, t, sizeof t);
	CHECK_STR("two hours", t, "2 h 0 min");
}

int main(void)
{
	names();
	for (int p = 0; p < HEALTH_NPARTS; p++)
		if (p != HEALTH_BACKLOG)
			incident(p);
	short_failures();
	sms_parts();
	backlog();
	routes();
	advice();
	summary();
	metrics();
	durations();
	return check_done();
}
