/* health.c: each part's health and the decisions about alerting (pure). */
#include "health.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *const names[HEALTH_NPARTS] = { "inbox", "sms-poll", "sms-send", "smtp", "disk", "backlog" };
static const char *const words[HEALTH_NPARTS] = {
	"the inbox (IMAP)",     "the SMS gateway's incoming texts", "sending texts through the SMS gateway",
	"outgoing mail (SMTP)", "the database and its disk",        "messages from young people waiting to be forwarded",
};

const char *health_part_name(enum health_part p)
{
	return p < HEALTH_NPARTS ? names[p] : "?";
}

const char *health_part_words(enum health_part p)
{
	return p < HEALTH_NPARTS ? words[p] : "?";
}

int health_part_from_name(const char *name)
{
	for (int i = 0; name && i < HEALTH_NPARTS; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

const char *health_state_name(enum health_state s)
{
	return s == HEALTH_OK ? "ok" : s == HEALTH_FAILING ? "failing" : "unknown";
}

/* Does p count: the SMS parts only when a gateway is configured. */
static int counts(const struct health *h, enum health_part p)
{
	return (p != HEALTH_SMS_POLL && p != HEALTH_SMS_SEND) || h->sms;
}

void health_ok(struct health *h, enum health_part p, long long now)
{
	if (!h || p >= HEALTH_NPARTS)
		return;
	struct health_part_state *s = &h->part[p];
	s->state = HEALTH_OK;
	s->last_ok = now;
	s->reason[0] = '\0';
	/* An incident someone was told about ends when the recovery is said. */
	if (!s->alerted_at)
		s->failing_since = 0;
}

void health_fail(struct health *h, enum health_part p, const char *reason, long long now)
{
	if (!h || p >= HEALTH_NPARTS)
		return;
	struct health_part_state *s = &h->part[p];
	if (!s->failing_since)
		s->failing_since = now;
	s->state = HEALTH_FAILING;
	snprintf(s->reason, sizeof s->reason, "%s", reason && *reason ? reason : "no reason given");
	/* One line: a reason goes into a STATUS= line and a text. */
	for (char *c = s->reason; *c; c++)
		if (*c == '\n' || *c == '\r' || *c == '\t')
			*c = ' ';
}

void health_duration_text(long long seconds, char *out, size_t outlen)
{
	if (seconds < 60)
		snprintf(out, outlen, "%lld s", seconds < 0 ? 0 : seconds);
	else if (seconds < 2 * 3600)
		snprintf(out, outlen, "%lld min", seconds / 60);
	else
		snprintf(out, outlen, "%lld h %lld min", seconds / 3600, seconds % 3600 / 60);
}

void health_backlog(struct health *h, int waiting, long long waiting_since, int replies, long long replies_since,
                    const struct health_thresholds *t, long long now,
                    void (*fmt_time)(long long t, char *out, size_t outlen))
{
	h->waiting = waiting;
	h->waiting_since = waiting ? waiting_since : 0;
	h->replies_waiting = replies;
	h->replies_since = replies ? replies_since : 0;
	if (!waiting || now - waiting_since < t->backlog_after) {
		health_ok(h, HEALTH_BACKLOG, now);
		return;
	}
	char when[128] = "", age[64], reason[400];
	if (fmt_time)
		fmt_time(waiting_since, when, sizeof when);
	else
		snprintf(when, sizeof when, "%lld", waiting_since);
	health_duration_text(now - waiting_since, age, sizeof age);
	snprintf(reason, sizeof reason,
	         "%d message%s from young people %s waiting to be forwarded to the advisers, "
	         "the oldest since %s (%s)",
	         waiting, waiting == 1 ? "" : "s", waiting == 1 ? "is" : "are", when, age);
	health_fail(h, HEALTH_BACKLOG, reason, now);
}

enum health_action health_decide(const struct health *h, enum health_part p, long long now,
                                 const struct health_thresholds *t)
{
	if (p >= HEALTH_NPARTS || !counts(h, p))
		return HEALTH_NOTHING;
	const struct health_part_state *s = &h->part[p];
	if (s->state == HEALTH_FAILING) {
		if (!s->alerted_at) {
			/* The backlog's threshold is in when it counts as failing. */
			long long wait = p == HEALTH_BACKLOG ? 0 : t->alert_after;
			return now - s->failing_since >= wait ? HEALTH_ALERT : HEALTH_NOTHING;
		}
		return now - s->reminded_at >= t->remind_every ? HEALTH_REMIND : HEALTH_NOTHING;
	}
	if (s->state == HEALTH_OK && s->alerted_at)
		return HEALTH_RECOVERED;
	return HEALTH_NOTHING;
}

void health_sent(struct health *h, enum health_part p, enum health_action a, long long now)
{
	if (p >= HEALTH_NPARTS || a == HEALTH_NOTHING)
		return;
	struct health_part_state *s = &h->part[p];
	h->alerts_sent++;
	switch (a) {
	case HEALTH_ALERT:
		s->alerted_at = now;
		s->reminded_at = now;
		s->alerts++;
		break;
	case HEALTH_REMIND:
		s->reminded_at = now;
		s->alerts++;
		break;
	case HEALTH_RECOVERED:
		s->alerted_at = 0;
		s->reminded_at = 0;
		s->alerts = 0;
		s->failing_since = 0;
		break;
	case HEALTH_NOTHING:
		break;
	}
}

enum health_path health_route(const struct health *h, enum health_part p, int have_email, int have_text)
{
	int text_works = have_text && h->sms && h->part[HEALTH_SMS_SEND].state != HEALTH_FAILING;
	if (!have_email)
		return have_text ? HEALTH_BY_TEXT : HEALTH_BY_EMAIL;
	/* Outgoing mail failing, whatever the part: a text, when one can go. */
	if ((p == HEALTH_SMTP || h->part[HEALTH_SMTP].state == HEALTH_FAILING) && text_works)
		return HEALTH_BY_TEXT;
	return HEALTH_BY_EMAIL;
}

static int has(const char *reason, const char *what)
{
	return reason && strcasestr(reason, what) != NULL;
}

static int unreachable(const char *reason)
{
	static const char *const signs[] = { "cannot connect",
		                             "connection refused",
		                             "connect",
		                             "timed out",
		                             "timeout",
		                             "cannot find",
		                             "resolve",
		                             "unreachable",
		                             "no route",
		                             "connection reset",
		                             "closed the connection",
		                             "dropped" };
	for (size_t i = 0; i < sizeof signs / sizeof signs[0]; i++)
		if (has(reason, signs[i]))
			return 1;
	return 0;
}

#define RELOAD "systemctl reload relay"

void health_advice(enum health_part p, const char *reason, const struct health_places *w, char *out, size_t outlen,
                   char *todo, size_t todolen)
{
	const char *none = "(not set)";
	/* No access token (oauth.h): the reason carries what to do, after "oauth: ". */
	const char *oauth = reason ? strstr(reason, "oauth: ") : NULL;
	if (oauth && (p == HEALTH_INBOX || p == HEALTH_SMTP)) {
		snprintf(out, outlen, "the relay cannot get an access token (OAuth2) for %s",
		         p == HEALTH_INBOX ? "the mailbox" : "outgoing mail");
		snprintf(todo, todolen, "%s", oauth + 7);
		return;
	}
	switch (p) {
	case HEALTH_INBOX:
		if (has(reason, "login refused") || has(reason, "authenticat")) {
			snprintf(out, outlen, "the mailbox password was refused");
			snprintf(todo, todolen, "update %s (and [imap] username if it changed) and reload: " RELOAD,
			         w->imap_password_file ? w->imap_password_file : none);
		} else if (has(reason, "certificate")) {
			snprintf(out, outlen, "the TLS certificate of the mail server %s was not accepted",
			         w->imap_host ? w->imap_host : none);
			snprintf(todo, todolen,
			         "check the server's certificate and [imap] ca_file; relay check shows the detail");
		} else if (unreachable(reason)) {
			snprintf(out, outlen, "the mail server %s cannot be reached", w->imap_host ? w->imap_host : none);
			snprintf(todo, todolen, "check that %s is up and reachable from this machine (relay check)",
			         w->imap_host ? w->imap_host : none);
		} else {
			snprintf(out, outlen, "the inbox cannot be read");
			snprintf(todo, todolen, "see relay status and journalctl -u relay; relay check tries the login");
		}
		return;
	case HEALTH_SMTP:
		if (has(reason, "refused the login") || has(reason, "authenticat")) {
			snprintf(out, outlen, "the outgoing mail password was refused");
			snprintf(todo, todolen, "update %s (and [smtp] username if it changed) and reload: " RELOAD,
			         w->smtp_password_file ? w->smtp_password_file : none);
		} else if (has(reason, "certificate")) {
			snprintf(out, outlen, "the TLS certificate of the outgoing mail server %s was not accepted",
			         w->smtp_host ? w->smtp_host : none);
			snprintf(todo, todolen,
			         "check the server's certificate and [smtp] ca_file; relay check shows the detail");
		} else if (unreachable(reason)) {
			snprintf(out, outlen, "the outgoing mail server %s cannot be reached",
			         w->smtp_host ? w->smtp_host : none);
			snprintf(todo, todolen, "check that %s is up and reachable from this machine (relay check)",
			         w->smtp_host ? w->smtp_host : none);
		} else {
			snprintf(out, outlen, "outgoing mail fails");
			snprintf(todo, todolen, "see relay status and journalctl -u relay; relay check tries the login");
		}
		return;
	case HEALTH_SMS_POLL:
	case HEALTH_SMS_SEND:
		if (has(reason, "credentials") || has(reason, "HTTP 401") || has(reason, "HTTP 403")) {
			snprintf(out, outlen, "the SMS gateway (%s) refused the relay's credentials",
			         w->sms_provider ? w->sms_provider : none);
			snprintf(todo, todolen,
			         "update %s (and [sms] account and username if they changed) and reload: " RELOAD,
			         w->sms_password_file ? w->sms_password_file : none);
		} else {
			snprintf(out, outlen, "the SMS gateway (%s) cannot be reached or fails",
			         w->sms_provider ? w->sms_provider : none);
			snprintf(todo, todolen, "check the gateway's status page and the network; relay check tries it");
		}
		return;
	case HEALTH_DISK:
		snprintf(out, outlen, "the disk holding the database is full or failing");
		snprintf(todo, todolen,
		         "make room on the disk holding %s (df -h); the relay carries on by itself once "
		         "it can write",
		         w->database ? w->database : none);
		return;
	case HEALTH_BACKLOG:
		snprintf(out, outlen, "messages from young people are not reaching the advisers");
		snprintf(todo, todolen,
		         "check which part fails (relay status), outgoing mail above all; the messages are "
		         "kept and go as soon as it works");
		return;
	case HEALTH_NPARTS:
		break;
	}
	snprintf(out, outlen, "unknown part");
	snprintf(todo, todolen, "see relay status");
}

int health_failing(const struct health *h)
{
	for (int p = 0; p < HEALTH_NPARTS; p++)
		if (counts(h, p) && h->part[p].state == HEALTH_FAILING)
			return 1;
	return 0;
}

/* "inbox ok", "smtp failing for 12 min", "smtp not tried". */
static void one(struct buf *b, const char *name, const struct health_part_state *s, long long now)
{
	char age[64];
	buf_printf(b, "%s%s ", b->len ? ", " : "", name);
	if (s->state == HEALTH_FAILING) {
		health_duration_text(now - s->failing_since, age, sizeof age);
		buf_printf(b, "failing for %s", age);
	} else {
		buf_adds(b, s->state == HEALTH_OK ? "ok" : "not tried");
	}
}

void health_summary(const struct health *h, long long now, char *out, size_t outlen)
{
	struct buf b;
	buf_init(&b);
	one(&b, "inbox", &h->part[HEALTH_INBOX], now);
	if (h->sms) {
		/* One word for the gateway: the worse of its two directions. */
		const struct health_part_state *poll = &h->part[HEALTH_SMS_POLL], *send = &h->part[HEALTH_SMS_SEND];
		const struct health_part_state *worse = poll;
		if (send->state == HEALTH_FAILING &&
		    (poll->state != HEALTH_FAILING || send->failing_since < poll->failing_since))
			worse = send;
		else if (poll->state == HEALTH_UNKNOWN && send->state == HEALTH_OK)
			worse = send;
		one(&b, "sms", worse, now);
	}
	one(&b, "smtp", &h->part[HEALTH_SMTP], now);
	if (h->part[HEALTH_DISK].state == HEALTH_FAILING)
		one(&b, "disk", &h->part[HEALTH_DISK], now);
	buf_printf(&b, ", %d waiting", h->waiting);
	snprintf(out, outlen, "%s", buf_str(&b));
	buf_free(&b);
}

void health_metrics(const struct health *h, long long now, struct buf *out)
{
	buf_adds(out, "# HELP relay_part_up Whether a part of the relay works: 1 ok, 0 failing, -1 not tried yet.\n"
	              "# TYPE relay_part_up gauge\n");
	for (int p = 0; p < HEALTH_NPARTS; p++)
		if (counts(h, p))
			buf_printf(out, "relay_part_up{part=\"%s\"} %d\n", names[p],
			           h->part[p].state == HEALTH_OK        ? 1
			           : h->part[p].state == HEALTH_FAILING ? 0
			                                                : -1);
	buf_adds(out, "# HELP relay_part_last_success_timestamp_seconds When the part last worked (0: not known).\n"
	              "# TYPE relay_part_last_success_timestamp_seconds gauge\n");
	for (int p = 0; p < HEALTH_NPARTS; p++)
		if (counts(h, p))
			buf_printf(out, "relay_part_last_success_timestamp_seconds{part=\"%s\"} %lld\n", names[p],
			           h->part[p].last_ok);
	buf_adds(out, "# HELP relay_part_failing_since_timestamp_seconds When the part's current failure began "
	              "(0: it works).\n"
	              "# TYPE relay_part_failing_since_timestamp_seconds gauge\n");
	for (int p = 0; p < HEALTH_NPARTS; p++)
		if (counts(h, p))
			buf_printf(out, "relay_part_failing_since_timestamp_seconds{part=\"%s\"} %lld\n", names[p],
			           h->part[p].state == HEALTH_FAILING ? h->part[p].failing_since : 0);
	buf_adds(out, "# HELP relay_part_alerts Alerts and reminders sent about the part's current failure.\n"
	              "# TYPE relay_part_alerts gauge\n");
	for (int p = 0; p < HEALTH_NPARTS; p++)
		if (counts(h, p))
			buf_printf(out, "relay_part_alerts{part=\"%s\"} %d\n", names[p], h->part[p].alerts);
	buf_printf(out,
	           "# HELP relay_alerts_sent_total Alerts, reminders and recoveries sent.\n"
	           "# TYPE relay_alerts_sent_total counter\n"
	           "relay_alerts_sent_total %lld\n",
	           h->alerts_sent);
	buf_printf(out,
	           "# HELP relay_backlog_messages Messages from young people waiting to be forwarded.\n"
	           "# TYPE relay_backlog_messages gauge\n"
	           "relay_backlog_messages %d\n",
	           h->waiting);
	buf_printf(out,
	           "# HELP relay_backlog_oldest_timestamp_seconds When the oldest of them came (0: none).\n"
	           "# TYPE relay_backlog_oldest_timestamp_seconds gauge\n"
	           "relay_backlog_oldest_timestamp_seconds %lld\n",
	           h->waiting_since);
	buf_printf(out,
	           "# HELP relay_replies_waiting Replies to young people not yet delivered.\n"
	           "# TYPE relay_replies_waiting gauge\n"
	           "relay_replies_waiting %d\n",
	           h->replies_waiting);
	buf_printf(out,
	           "# HELP relay_healthy 1 when no part is failing.\n"
	           "# TYPE relay_healthy gauge\n"
	           "relay_healthy %d\n",
	           !health_failing(h));
	buf_printf(out,
	           "# HELP relay_health_updated_timestamp_seconds When the relay wrote this.\n"
	           "# TYPE relay_health_updated_timestamp_seconds gauge\n"
	           "relay_health_updated_timestamp_seconds %lld\n",
	           now);
}
