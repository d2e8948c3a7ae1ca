/* alerts.c: health alerts, relay status's record and the metrics file. */
#include "alerts.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "compose.h"
#include "gsm.h"
#include "log.h"
#include "outbox.h"
#include "sms.h"
#include "smtp.h"
#include "template.h"
#include "util.h"

static void restore_one(void *arg, const struct db_health *row)
{
	struct health *h = arg;
	int p = health_part_from_name(row->part);
	if (p < 0)
		return;
	struct health_part_state *s = &h->part[p];
	s->last_ok = row->last_ok;
	/* The incident (its start, and what was said about it) carries on
	 * across a restart; whether the part works is seen again. */
	if (row->alerted_at || (row->state && !strcmp(row->state, "failing")))
		s->failing_since = row->failing_since;
	if (row->alerted_at) {
		s->alerted_at = row->alerted_at;
		s->reminded_at = row->reminded_at;
		s->alerts = row->alerts;
	}
}

void alerts_restore(struct relay *r, struct health *h)
{
	if (db_health_get(r->db, restore_one, h) < 0)
		log_warn("health: the state an earlier relay wrote cannot be read: %s", db_error(r->db));
}


/* Outgoing mail is seen only when something is sent: while it fails (or an
 * alert about it is open), it is tried every retry_min, so that its recovery
 * is known without waiting for the outbox's backoff. */
static void probe_smtp(struct relay *r, struct health *h, long long now)
{
	struct health_part_state *s = &h->part[HEALTH_SMTP];
	if (s->state == HEALTH_OK || (s->state == HEALTH_UNKNOWN && !s->alerted_at))
		return;
	if (h->smtp_probed && now - h->smtp_probed < r->cfg->retry_min)
		return;
	char err[512];
	h->smtp_probed = now;
	if (outbox_transport_check(r->cfg, err, sizeof err) < 0)
		health_fail(h, HEALTH_SMTP, err, relay_clock());
	else
		health_ok(h, HEALTH_SMTP, relay_clock());
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');
	return at ? at + 1 : address;
}

/* One email to every [health] alert_to address, in one SMTP session. */
static int by_email(struct relay *r, struct health *h, const char *subject, const char *body, char *err, size_t errlen)
{
	const struct config *c = r->cfg;
	const struct address_list *to = &c->health_alert_to;
	struct compose_address *addrs = xcalloc(to->n, sizeof *addrs);
	static unsigned serial;
	char unique[96];
	struct buf b;
	int rc = -1;

	for (size_t i = 0; i < to->n; i++)
		addrs[i].address = to->items[i];
	snprintf(unique, sizeof unique, "health-%lld-%ld-%u", r->now, (long)getpid(), ++serial);
	char *mid = compose_message_id(domain_of(c->from_address), unique);
	struct compose_header extra[] = {
		{ "Auto-Submitted", "auto-generated" },
		{ "X-Auto-Response-Suppress", "All" },
		{ c->loop_header, c->from_address },
		{ "X-Priority", "1" },
	};
	struct compose_message m = {
		.from = { c->from_name, c->from_address },
		.to = addrs,
		.nto = to->n,
		.subject = subject,
		.message_id = mid,
		.date = r->now,
		.extra = extra,
		.nextra = sizeof extra / sizeof extra[0],
		.body = body,
	};
	buf_init(&b);
	if (!mid) {
		snprintf(err, errlen, "cannot make a Message-ID from %s", c->from_address);
		goto out;
	}
	if (compose_build(&m, &b, err, errlen) < 0)
		goto out;
	struct smtp_outgoing o = {
		.mail_from = c->from_address,
		.rcpt = (const char *const *)to->items,
		.nrcpt = to->n,
		.data = b.data,
		.len = b.len,
	};
	if (outbox_transport_send(c, &o, 1, err, errlen) < 0) {
		health_fail(h, HEALTH_SMTP, err, relay_clock());
		goto out;
	}
	health_ok(h, HEALTH_SMTP, relay_clock());
	if (o.outcome != SMTP_SENT) {
		snprintf(err, errlen, "the mail server did not take it: %s", o.detail);
		goto out;
	}
	rc = 0;
out:
	buf_free(&b);
	free(mid);
	free(addrs);
	return rc;
}

/* One text to [health] alert_sms through the gateway. */
static int by_text(struct relay *r, struct health *h, const char *body, char *err, size_t errlen)
{
	struct sms_count count;
	char *id = NULL;
	if (!r->sms) {
		snprintf(err, errlen, "the SMS gateway is not open");
		return -1;
	}
	gsm_count(body, &count);
	enum sms_result res =
		r->sms->provider->send(r->sms, r->cfg->health_alert_sms, body, count.unicode, &id, err, errlen);
	free(id);
	if (res == SMS_TEMPORARY || res == SMS_AUTH)
		health_fail(h, HEALTH_SMS_SEND, err, relay_clock());
	else
		health_ok(h, HEALTH_SMS_SEND, relay_clock());
	return res == SMS_OK ? 0 : -1;
}

static void trim_end(char *s)
{
	size_t n = strlen(s);
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r' || s[n - 1] == ' '))
		s[--n] = '\0';
}

/* Fills the template for path and sends it. 0 sent, -1 not (err says why). */
static int send_one(struct relay *r, struct health *h, enum health_part p, enum health_action a, enum health_path path,
                    char *err, size_t errlen)
{
	const struct config *c = r->cfg;
	const struct health_part_state *s = &h->part[p];
	struct health_places where = {
		.imap_host = c->imap_host,
		.imap_password_file = c->imap_password_file,
		.smtp_host = c->smtp_host,
		.smtp_password_file = c->smtp_password_file,
		.sms_provider = config_has_sms(c) ? c->sms_provider : NULL,
		.sms_password_file = c->sms_password_file,
		.database = c->database,
	};
	char what[300], todo[600], since[128], duration[64], remind[64], name[160];
	health_advice(p, s->reason, &where, what, sizeof what, todo, sizeof todo);
	relay_format_time(s->failing_since, since, sizeof since);
	health_duration_text(r->now - s->failing_since, duration, sizeof duration);
	health_duration_text(c->health_remind_every, remind, sizeof remind);
	snprintf(name, sizeof name, "%s/%s", path == HEALTH_BY_TEXT ? "sms" : "email",
	         a == HEALTH_RECOVERED ? "health_recovered" : "health_alert");
	struct template_var vars[] = {
		{ "service_name", c->name },
		{ "kind", a == HEALTH_REMIND ? "Reminder" : "Alert" },
		{ "part", health_part_words(p) },
		{ "what", what },
		{ "todo", todo },
		{ "reason", s->reason[0] ? s->reason : "none given" },
		{ "since", since },
		{ "duration", duration },
		{ "remind", remind },
	};
	char *subject = NULL, *body = NULL;
	if (template_fill(c->templates, name, vars, sizeof vars / sizeof vars[0], &subject, &body, err, errlen) < 0)
		return -1;
	int rc;
	if (path == HEALTH_BY_TEXT) {
		trim_end(body);
		rc = by_text(r, h, body, err, errlen);
	} else {
		rc = by_email(r, h, subject ? subject : "Relay health", body, err, errlen);
	}
	free(subject);
	free(body);
	return rc;
}

static const char *action_name(enum health_action a)
{
	return a == HEALTH_ALERT ? "alert" : a == HEALTH_REMIND ? "reminder" : "recovery";
}

/* Tells the people in [health] about part p, by the path health_route
 * chooses, or the other one when that fails. */
static void tell(struct relay *r, struct health *h, enum health_part p, enum health_action a)
{
	const struct config *c = r->cfg;
	int have_email = c->health_alert_to.n > 0;
	int have_text = c->health_alert_sms && r->sms;
	const char *part = health_part_name(p);
	char err[600];

	char age[64];
	health_duration_text(r->now - h->part[p].failing_since, age, sizeof age);
	if (a == HEALTH_RECOVERED)
		log_info("health: %s works again after %s", part, age);
	else
		log_error("health: %s failing for %s: %s", part, age, h->part[p].reason);
	if (!have_email && !have_text) {
		log_warn("health: no %s sent: [health] alert_to and alert_sms are empty", action_name(a));
		health_sent(h, p, a, r->now);
		return;
	}
	enum health_path first = health_route(h, p, have_email, have_text);
	enum health_path second = first == HEALTH_BY_EMAIL ? HEALTH_BY_TEXT : HEALTH_BY_EMAIL;
	if (send_one(r, h, p, a, first, err, sizeof err) == 0) {
		log_info("health: %s about %s sent by %s", action_name(a), part, first == HEALTH_BY_TEXT ? "text" : "email");
		health_sent(h, p, a, r->now);
		return;
	}
	log_warn("health: %s about %s could not go by %s: %s", action_name(a), part,
	         first == HEALTH_BY_TEXT ? "text" : "email", err);
	if ((second == HEALTH_BY_TEXT ? have_text : have_email) && send_one(r, h, p, a, second, err, sizeof err) == 0) {
		log_info("health: %s about %s sent by %s", action_name(a), part,
		         second == HEALTH_BY_TEXT ? "text" : "email");
		health_sent(h, p, a, r->now);
		return;
	}
	/* Tried again next cycle. */
}

void alerts_run(struct relay *r, struct health *h)
{
	const struct config *c = r->cfg;
	struct health_thresholds t = { c->health_alert_after, c->health_remind_every, c->health_backlog_after };
	int waiting = 0, replies = 0;
	long long waiting_since = 0, replies_since = 0;
	char err[512];

	r->now = relay_clock();
	h->sms = config_has_sms(c);
	if (db_backlog(r->db, &waiting, &waiting_since, &replies, &replies_since) == 0)
		health_backlog(h, waiting, waiting_since, replies, replies_since, &t, r->now, relay_format_time);
	probe_smtp(r, h, r->now);
	/* Outgoing mail first: an alert about it decides the path of the others. */
	static const enum health_part order[] = { HEALTH_SMTP,     HEALTH_INBOX, HEALTH_SMS_POLL,
		                                  HEALTH_SMS_SEND, HEALTH_DISK,  HEALTH_BACKLOG };
	for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
		if (r->stopping && *r->stopping)
			break;
		r->now = relay_clock();
		enum health_action a = health_decide(h, order[i], r->now, &t);
		if (a != HEALTH_NOTHING)
			tell(r, h, order[i], a);
	}
	r->now = relay_clock();
	alerts_save(r, h, "running");
	if (c->health_metrics_file && alerts_write_metrics(c->health_metrics_file, h, r->now, err, sizeof err) < 0) {
		static int said;
		if (!said++)
			log_warn("health: metrics file: %s", err);
	}
}

void alerts_save(struct relay *r, const struct health *h, const char *state)
{
	char summary[512];
	if (!db_has_room(r->db) || db_begin_lazy(r->db) < 0)
		return;
	int bad = 0;
	for (int p = 0; !bad && p < HEALTH_NPARTS; p++) {
		const struct health_part_state *s = &h->part[p];
		struct db_health row = {
			.part = health_part_name(p),
			.state = health_state_name(s->state),
			.last_ok = s->last_ok,
			.failing_since = s->failing_since,
			.reason = s->reason,
			.alerted_at = s->alerted_at,
			.reminded_at = s->reminded_at,
			.alerts = s->alerts,
			.updated_at = r->now,
		};
		bad = db_health_put(r->db, &row) < 0;
	}
	health_summary(h, r->now, summary, sizeof summary);
	struct db_health self = {
		.part = "relay",
		.state = state,
		.last_ok = h->started,
		.reason = summary,
		.alerts = (int)h->alerts_sent,
		.updated_at = r->now,
	};
	if (bad || db_health_put(r->db, &self) < 0 || db_commit(r->db) < 0)
		db_rollback(r->db);
}

int alerts_write_metrics(const char *path, const struct health *h, long long now, char *err, size_t errlen)
{
	struct buf b;
	char *tmp = xasprintf("%s.tmp", path);
	int rc = -1;
	buf_init(&b);
	health_metrics(h, now, &b);
	/* Metrics say nothing private: readable by the collector. */
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	size_t off = 0;
	while (off < b.len) {
		ssize_t k = write(fd, b.data + off, b.len - off);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			snprintf(err, errlen, "%s: %s", tmp, k < 0 ? strerror(errno) : "short write");
			close(fd);
			unlink(tmp);
			goto out;
		}
		off += (size_t)k;
	}
	if (close(fd) < 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	buf_free(&b);
	return rc;
}
