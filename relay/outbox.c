/* outbox.c: flushes the outbox through the SMTP server. */
#include "outbox.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "graph.h"
#include "gsm.h"
#include "health.h"
#include "kind.h"
#include "log.h"
#include "login.h"
#include "notify.h"
#include "outgoing.h"
#include "receipts.h"
#include "settings.h"
#include "sms.h"
#include "smtp.h"
#include "util.h"

/* An SMTP session takes [outbox] batch_size messages, and stops taking more
 * once they come to this many bytes: the session holds all of them in
 * memory, and a forward is as long as the email it carries. */
#define SESSION_MAX_BYTES ((size_t)8 << 20)

long long outbox_backoff(int attempts, int retry_min, int retry_max, double random01)
{
	double wait = retry_min;
	for (int i = 1; i < attempts && wait < retry_max; i++)
		wait *= 2;
	if (wait > retry_max)
		wait = retry_max;
	/* Jitter spreads retries so a recovering server is not hit all at once. */
	wait += wait * 0.25 * random01;
	return (long long)wait;
}

static double random01(void)
{
	uint32_t v;
	gnutls_rnd(GNUTLS_RND_NONCE, &v, sizeof v);
	return v / 4294967296.0;
}

int outbox_uses_graph(const struct config *c)
{
	return c->smtp_transport && !strcmp(c->smtp_transport, "graph");
}

int outbox_transport_send(const struct config *c, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen)
{
	if (outbox_uses_graph(c)) {
		struct graph_settings gs;
		if (settings_graph(c, &gs, err, errlen) < 0) {
			for (size_t i = 0; i < n; i++) {
				msgs[i].outcome = SMTP_TEMPORARY;
				snprintf(msgs[i].detail, sizeof msgs[i].detail, "%s", err);
			}
			return -1;
		}
		return graph_send(&gs, msgs, n, err, errlen);
	}
	struct smtp_settings ss;
	settings_smtp(c, &ss);
	return smtp_send(&ss, msgs, n, err, errlen);
}

int outbox_transport_check(const struct config *c, char *err, size_t errlen)
{
	if (outbox_uses_graph(c)) {
		struct graph_settings gs;
		if (settings_graph(c, &gs, err, errlen) < 0)
			return -1;
		return graph_check(&gs, err, errlen);
	}
	struct smtp_settings ss;
	settings_smtp(c, &ss);
	return smtp_check(&ss, err, errlen);
}

/* Splits the stored "a\nb\n" recipient list; pointers into text. */
static size_t split_rcpt(char *text, const char ***out)
{
	size_t n = 0;
	*out = NULL;
	for (char *save = NULL, *tok = strtok_r(text, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
		*out = xrealloc(*out, (n + 1) * sizeof **out);
		(*out)[n++] = tok;
	}
	return n;
}

/* Tells the advisers that something could not be delivered, in the
 * conversation's thread. Runs inside the caller's transaction. */
static int undeliverable(struct relay *r, const struct outbox_row *o, const char *why)
{
	struct conversation c;
	if (!o->conversation_id || db_conversation_by_id(r->db, o->conversation_id, &c) != 0)
		return 0;
	int rc = outgoing_undelivered(r, &c, o->kind, why);
	conversation_free(&c);
	return rc;
}

static int record(struct relay *r, const struct outbox_row *o, const struct smtp_outgoing *s)
{
	int attempts = o->attempts + 1;
	const char *ref = "-";
	char refbuf[32];
	if (o->conversation_id) {
		snprintf(refbuf, sizeof refbuf, "conversation %lld", o->conversation_id);
		ref = refbuf;
	}
	switch (s->outcome) {
	case SMTP_SENT:
		log_info("outbox %lld (%s, %s): sent", o->id, kind_stored(o->kind), ref);
		return db_outbox_mark(r->db, o->id, OUTBOX_SENT, attempts, o->next_attempt_at, NULL, r->now);
	case SMTP_TEMPORARY: {
		long long wait = outbox_backoff(attempts, r->cfg->retry_min, r->cfg->retry_max, random01());
		if (s->retry_after > wait)
			wait = s->retry_after; /* Graph's Retry-After */
		log_warn("outbox %lld (%s, %s): temporary failure, retry in %llds: %s", o->id, kind_stored(o->kind), ref,
		         wait, s->detail);
		return db_outbox_mark(r->db, o->id, OUTBOX_PENDING, attempts, r->now + wait, s->detail, 0);
	}
	case SMTP_PERMANENT:
		log_error("outbox %lld (%s, %s): refused permanently, kept as failed: %s", o->id, kind_stored(o->kind), ref,
		          s->detail);
		if (db_outbox_mark(r->db, o->id, OUTBOX_FAILED, attempts, o->next_attempt_at, s->detail, 0) < 0)
			return -1;
		/* The advisers hear at once when the young person was not reached.
		 * Mail to the advisers themselves is only logged: alerting them by the
		 * route that just failed could loop. */
		if (kind_reaches_young_person(o->kind)) {
			char why[400];
			snprintf(why, sizeof why, "the mail server refused it permanently: %s", s->detail);
			return undeliverable(r, o, why);
		}
		return 0;
	}
	return -1;
}


/* How far the gateway's clock may be behind ours when a text is looked up. */
#define CLOCK_SLACK 300

/* The provider ids recorded for a conversation's texts: a text found at the
 * gateway under one of them is another of ours, not the one looked for. */
struct known_ids {
	char **ids; /* owned */
	size_t n;
};

static void collect_id(void *arg, const struct outbox_row *o)
{
	struct known_ids *k = arg;
	if (!o->provider_id || o->channel != CHANNEL_SMS)
		return;
	k->ids = xrealloc(k->ids, (k->n + 1) * sizeof *k->ids);
	k->ids[k->n++] = xstrdup(o->provider_id);
}

static int id_known(void *arg, const char *id)
{
	const struct known_ids *k = arg;
	for (size_t i = 0; i < k->n; i++)
		if (!strcmp(k->ids[i], id))
			return 1;
	return 0;
}

/* Was a text whose last attempt got no answer taken by the gateway after
 * all? SMS_OK with *id when it was, SMS_OK with *id NULL when not (send it),
 * else why it cannot be known now (do not send). */
static enum sms_result look_up(struct relay *r, const struct outbox_row *o, char **id, char *err, size_t errlen)
{
	struct known_ids k = { 0 };
	enum sms_result res;
	if (o->conversation_id && db_outbox_for(r->db, o->conversation_id, collect_id, &k) < 0) {
		snprintf(err, errlen, "database: %s", db_error(r->db));
		return SMS_TEMPORARY;
	}
	res = sms_find_sent(r->sms, o->rcpt, o->data, o->created_at - CLOCK_SLACK, id_known, &k, id, err, errlen);
	for (size_t i = 0; i < k.n; i++)
		free(k.ids[i]);
	free(k.ids);
	return res;
}

/* Sends one text, or, when its last attempt got no answer, first looks at
 * the gateway's sent messages for it; records the outcome. *slow is set when
 * the gateway did not answer in time (the caller leaves the other texts for
 * the next cycle, so the intake is not held up). Returns 1 when sent (or
 * found sent), 0 when not, -1 on a database error. */
static int send_text(struct relay *r, struct outbox_row *o, int *slow)
{
	struct sms_gateway *g = r->sms;
	char err[512] = "", *id = NULL;
	int attempts = o->attempts + 1, sent = 0, found = 0;
	int unconfirmed = o->delivery && !strcmp(o->delivery, "unconfirmed");
	enum sms_result res = SMS_OK;

	if (!g) {
		log_warn("outbox %lld: a text waits but [sms] provider is none", o->id);
		return db_outbox_mark(r->db, o->id, OUTBOX_PENDING, attempts, r->now + r->cfg->retry_max,
		                      "no SMS gateway configured", 0) < 0
		               ? -1
		               : 0;
	}
	if (unconfirmed) {
		res = look_up(r, o, &id, err, sizeof err);
		found = res == SMS_OK && id != NULL;
		/* A look-up refused is no verdict on the text: it waits and is looked up again. */
		if (res == SMS_PERMANENT || res == SMS_OPTED_OUT)
			res = SMS_TEMPORARY;
		if (res == SMS_OK && !found)
			log_info("outbox %lld (text %s): the gateway has no record of the attempt that got no answer; "
			         "sending it",
			         o->id, kind_stored(o->kind));
	}
	if (res == SMS_OK && !found) {
		struct sms_count count;
		gsm_count(o->data, &count);
		res = sms_send(g, o->rcpt, o->data, count.unicode, &id, err, sizeof err);
	}
	if (res == SMS_TEMPORARY || res == SMS_AUTH || res == SMS_UNKNOWN)
		health_fail(r->health, HEALTH_SMS_SEND, err, r->now);
	else
		health_ok(r->health, HEALTH_SMS_SEND, r->now);
	if (res == SMS_UNKNOWN)
		*slow = 1;
	if (db_begin(r->db) < 0) {
		free(id);
		return -1;
	}
	int rc = 0;
	switch (res) {
	case SMS_OK:
		if (found)
			log_warn("outbox %lld (text %s, conversation %lld): the gateway had taken it although its answer "
			         "was lost; recorded as sent, not sent again",
			         o->id, kind_stored(o->kind), o->conversation_id);
		else
			log_info("outbox %lld (text %s, conversation %lld): accepted by the gateway", o->id,
			         kind_stored(o->kind), o->conversation_id);
		rc = db_outbox_mark(r->db, o->id, OUTBOX_SENT, attempts, o->next_attempt_at, NULL, r->now) < 0 ||
		     db_outbox_set_delivery(r->db, o->id, id, "queued") < 0;
		sent = 1;
		break;
	case SMS_UNKNOWN: {
		/* It may have gone: the next attempt looks it up first. */
		long long wait = outbox_backoff(attempts, r->cfg->retry_min, r->cfg->retry_max, random01());
		char why[600];
		snprintf(why, sizeof why, "%s (%s); it is looked up at the gateway before any new attempt", err,
		         unconfirmed ? "no answer to the look-up" : "no answer to the send");
		log_warn("outbox %lld (text %s): %s; next try in %llds", o->id, kind_stored(o->kind), why, wait);
		rc = db_outbox_mark(r->db, o->id, OUTBOX_PENDING, attempts, r->now + wait, why, 0) < 0 ||
		     (!unconfirmed && db_outbox_set_delivery(r->db, o->id, NULL, "unconfirmed") < 0);
		break;
	}
	case SMS_TEMPORARY:
	case SMS_AUTH: {
		long long wait = outbox_backoff(attempts, r->cfg->retry_min, r->cfg->retry_max, random01());
		if (res == SMS_AUTH)
			log_error("outbox %lld: the SMS gateway refused our credentials (%s): check [sms] password_file; "
			          "the text is kept and retried in %llds",
			          o->id, err, wait);
		else
			log_warn("outbox %lld (text %s): temporary failure, retry in %llds: %s", o->id, kind_stored(o->kind),
			         wait, err);
		rc = db_outbox_mark(r->db, o->id, OUTBOX_PENDING, attempts, r->now + wait, err, 0) < 0;
		break;
	}
	case SMS_OPTED_OUT:
	case SMS_PERMANENT: {
		char why[700];
		if (res == SMS_OPTED_OUT) {
			snprintf(why, sizeof why,
			         "the young person's number has opted out of texts from the service (it "
			         "texted STOP); no texts can reach it until it texts START");
			rc = db_contact_set_opted_out(r->db, CHANNEL_SMS, o->rcpt, r->now) < 0;
		} else {
			snprintf(why, sizeof why, "the SMS gateway refused the text permanently: %s", err);
		}
		log_error("outbox %lld (text %s, conversation %lld): refused permanently, kept as failed: %s", o->id,
		          kind_stored(o->kind), o->conversation_id, res == SMS_OPTED_OUT ? "recipient opted out" : err);
		rc = rc || db_outbox_mark(r->db, o->id, OUTBOX_FAILED, attempts, o->next_attempt_at, why, 0) < 0 ||
		     undeliverable(r, o, why) < 0;
		break;
	}
	}
	free(id);
	if (rc || db_commit(r->db) < 0) {
		db_rollback(r->db);
		return -1;
	}
	return sent;
}

/* A text left for the next cycle because the gateway is slow: due again
 * then, without counting an attempt. */
static int text_later(struct relay *r, const struct outbox_row *o)
{
	return db_outbox_mark(r->db, o->id, OUTBOX_PENDING, o->attempts, r->now + 1,
	                      "waiting: the SMS gateway was slow to answer another text", 0);
}

/* The SMTP or Graph session under way, and the rows it carries. */
struct sending {
	struct smtp_session *ss; /* [smtp] transport = smtp */
	struct smtp_settings settings;
	struct graph_session *gs; /* [smtp] transport = graph */
	struct graph_settings graph;
	struct outbox_row *rows; /* owned */
	size_t n;
	struct smtp_outgoing *msgs; /* owned */
	const char ***rcpts;        /* owned arrays of pointers into rows[i].rcpt */
	char **receipt;             /* owned: "ID MESSAGE-ID\n" per row */
	int *recorded;              /* per row: its outcome is committed */
	int sent;
	int dberr;
};

static void sending_free(struct sending *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->rcpts[i]);
		free(g->receipt[i]);
	}
	free(g->rcpts);
	free(g->msgs);
	free(g->receipt);
	free(g->recorded);
	outbox_rows_free(g->rows, g->n);
	free(g);
}

/* The session's reports, whichever transport carries it (smtp.h, graph.h). */
static int sending_take(struct sending *g, int wait, smtp_sent_cb on_sent, void *arg)
{
	return g->gs ? graph_session_take(g->gs, wait, on_sent, arg) : smtp_session_take(g->ss, wait, on_sent, arg);
}

static int sending_end(struct sending *g, char *err, size_t errlen)
{
	int rc = g->gs ? graph_session_end(g->gs, err, errlen) : smtp_session_end(g->ss, err, errlen);
	g->gs = NULL;
	g->ss = NULL;
	return rc;
}

/* Records receipts (receipts.h): each row still pending is marked sent. */
static int record_receipts(void *arg, const struct receipt *got, size_t n, long long at)
{
	struct relay *r = arg;
	int marked = 0;
	if (db_begin_lazy(r->db) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		int k = db_outbox_mark_received(r->db, got[i].id, got[i].message_id, at);
		if (k < 0) {
			db_rollback(r->db);
			return -1;
		}
		marked += k == 0;
	}
	if (db_commit(r->db) < 0) {
		db_rollback(r->db);
		return -1;
	}
	if (marked)
		log_warn("outbox: %d message%s the mail server took just before a relay stopped %s now recorded as sent",
		         marked, marked == 1 ? "" : "s", marked == 1 ? "is" : "are");
	return 0;
}

/* This process's receipt file, once receipts left by a relay that is gone
 * are settled. Called before rows are chosen to send: a settled row is no
 * longer pending. */
static int receipts_ready(struct relay *r, char *err, size_t errlen)
{
	if (r->receipts)
		return 0;
	/* One that cannot be read holds nothing up: at worst its messages go
	 * twice. */
	if (receipts_settle(db_path(r->db), record_receipts, r, err, errlen) < 0)
		log_warn("outbox: %s: the receipts of a relay that stopped cannot be read; messages it sent may go "
		         "again",
		         err);
	return receipts_open(db_path(r->db), &r->receipts, err, errlen);
}

/* Records the messages the server has taken, together, as soon as the relay
 * takes the session's reports: at once while it only sends, between batches
 * of incoming mail while it also takes mail in. Each was written to the
 * receipt file first, so a crash in between sends none twice. The commit does
 * not wait for the disk (a power cut could at worst send some again); a wait
 * per message was half of a backlog's drain. */
static void accepted(void *arg, const size_t *index, size_t n, struct smtp_outgoing *msgs)
{
	struct relay *r = arg;
	struct sending *g = r->sending;
	(void)msgs;
	if (g->dberr)
		return;
	if (db_begin_lazy(r->db) < 0) {
		g->dberr = 1;
		return;
	}
	for (size_t k = 0; k < n; k++) {
		if (record(r, &g->rows[index[k]], &g->msgs[index[k]]) < 0) {
			db_rollback(r->db);
			g->dberr = 1;
			return;
		}
	}
	if (db_commit(r->db) < 0) {
		db_rollback(r->db);
		g->dberr = 1;
		return;
	}
	for (size_t k = 0; k < n; k++)
		g->recorded[index[k]] = 1;
	g->sent += (int)n;
}

/* No session could be made: the rows not yet recorded keep their attempts
 * and schedule, and say why they wait (for relay show). 0, or -1 when the
 * database failed. */
static int rows_wait(struct relay *r, struct sending *g, const char *why)
{
	int bad = db_begin(r->db) < 0;
	for (size_t i = 0; !bad && i < g->n; i++)
		if (!g->recorded[i])
			bad = db_outbox_set_error(r->db, g->rows[i].id, why) < 0;
	if (bad || db_commit(r->db) < 0) {
		db_rollback(r->db);
		return -1;
	}
	return 0;
}

/* Starts one SMTP session for rows[0..n-1] (emails; taken over, freed here),
 * with the receipt file ready (receipts_ready, before the rows were chosen).
 * -1 when no session could be started (rows_wait); err says why. */
static int session_begin(struct relay *r, struct outbox_row *rows, size_t n, char *err, size_t errlen)
{
	struct sending *g = xcalloc(1, sizeof *g);
	g->rows = rows;
	g->n = n;
	g->msgs = xcalloc(n, sizeof *g->msgs);
	g->rcpts = xcalloc(n, sizeof *g->rcpts);
	g->receipt = xcalloc(n, sizeof *g->receipt);
	g->recorded = xcalloc(n, sizeof *g->recorded);
	settings_smtp(r->cfg, &g->settings);
	for (size_t i = 0; i < n; i++) {
		g->receipt[i] = xasprintf("%lld %s\n", rows[i].id, rows[i].message_id);
		g->msgs[i].mail_from = rows[i].mail_from ? rows[i].mail_from : r->cfg->from_address;
		g->msgs[i].nrcpt = split_rcpt(rows[i].rcpt, &g->rcpts[i]);
		g->msgs[i].rcpt = g->rcpts[i];
		g->msgs[i].receipt = g->receipt[i];
		g->msgs[i].data = rows[i].data;
		g->msgs[i].len = rows[i].len;
	}
	int started;
	if (outbox_uses_graph(r->cfg))
		started = settings_graph(r->cfg, &g->graph, err, errlen) == 0 &&
		          graph_session_start(&g->graph, g->msgs, n, receipts_fd(r->receipts), &g->gs, err, errlen) == 0;
	else
		started = smtp_session_start(&g->settings, g->msgs, n, receipts_fd(r->receipts), &g->ss, err, errlen) == 0;
	if (!started) {
		health_fail(r->health, HEALTH_SMTP, err, relay_clock());
		if (rows_wait(r, g, err) < 0) {
			char why[512];
			snprintf(why, sizeof why, "%s", err);
			snprintf(err, errlen, "%s (and the database: %s)", why, db_error(r->db));
		}
		sending_free(g);
		return -1;
	}
	r->sending = g;
	return 0;
}

/* Waits for the session under way to be over and records every outcome.
 * Returns the number sent, or -1 (err says why): no session could be made,
 * or the database failed. */
static int session_finish(struct relay *r, char *err, size_t errlen)
{
	struct sending *g = r->sending;
	while (!sending_take(g, 1, accepted, r))
		;
	int rc = sending_end(g, err, errlen);
	if (rc < 0 && g->settings.token && strstr(err, "refused the OAuth2 token"))
		login_token_refused(r->cfg); /* the next session asks for a new one (as mailbox.c does) */
	if (rc < 0)
		health_fail(r->health, HEALTH_SMTP, err, relay_clock());
	else
		health_ok(r->health, HEALTH_SMTP, relay_clock());
	if (rc < 0 && !g->dberr && rows_wait(r, g, err) < 0)
		g->dberr = 1;
	if (rc == 0 && !g->dberr) {
		/* The rest (refused, deferred) in one transaction. */
		if (db_begin(r->db) < 0)
			g->dberr = 1;
		for (size_t i = 0; !g->dberr && i < g->n; i++) {
			if (g->recorded[i])
				continue;
			if (record(r, &g->rows[i], &g->msgs[i]) < 0)
				g->dberr = 1;
			else if (g->msgs[i].outcome == SMTP_SENT)
				g->sent++;
		}
		if (g->dberr || db_commit(r->db) < 0) {
			db_rollback(r->db);
			g->dberr = 1;
		}
	}
	/* Receipts the database could not take stay in the file: try them again
	 * now, and keep the file for the next relay if that fails too. */
	if (!g->dberr || receipts_replay(r->receipts, record_receipts, r) == 0)
		receipts_clear(r->receipts);
	int sent = g->sent;
	if (g->dberr)
		snprintf(err, errlen, "database: %s", db_error(r->db));
	int failed = g->dberr || rc < 0;
	r->sending = NULL;
	sending_free(g);
	return failed ? -1 : sent;
}

/* Says that sending failed and how much waits, unless db.c has already
 * reported a disk failure since `disk`. */
static void log_waiting(struct relay *r, const char *err, unsigned long disk)
{
	if (db_disk_failures(r->db) != disk)
		return;
	int n = db_outbox_pending_count(r->db);
	log_warn("outbox: %s; %d message%s wait for the next attempt", err, n, n == 1 ? "" : "s");
}

int outbox_pump(struct relay *r)
{
	char err[512];
	unsigned long disk = db_disk_failures(r->db);
	/* A long drain is the main loop at work: between its batches it keeps
	 * systemd's watchdog fed; a stalled one does not. */
	notify_keepalive();
	if (r->sending) {
		if (!sending_take(r->sending, 0, accepted, r))
			return 0;
		/* Over: record it, and start the next one at once. */
		if (session_finish(r, err, sizeof err) < 0) {
			log_waiting(r, err, disk);
			return -1;
		}
	}
	if (!db_has_room(r->db))
		return 0;
	if (receipts_ready(r, err, sizeof err) < 0) {
		log_warn("outbox: %s", err);
		return -1;
	}
	struct outbox_row *rows = NULL;
	size_t n = 0;
	if (db_outbox_due_emails(r->db, relay_clock(), r->cfg->batch_size, SESSION_MAX_BYTES, &rows, &n) < 0)
		return -1;
	if (n == 0) {
		outbox_rows_free(rows, n);
		return 0;
	}
	if (session_begin(r, rows, n, err, sizeof err) < 0) {
		log_waiting(r, err, disk);
		return -1;
	}
	return 0;
}

void outbox_end(struct relay *r)
{
	char err[512];
	unsigned long disk = db_disk_failures(r->db);
	if (r->sending && session_finish(r, err, sizeof err) < 0)
		log_waiting(r, err, disk);
	receipts_close(r->receipts);
	r->receipts = NULL;
}

int outbox_flush(struct relay *r, char *err, size_t errlen)
{
	int sent = 0, failed = 0;
	long long last_first = -1;
	int slow = 0; /* a text got no answer in time: the others wait for the next cycle */

	/* The session started beside the intake first: its rows are not due
	 * twice. */
	if (r->sending) {
		unsigned long disk = db_disk_failures(r->db);
		int k = session_finish(r, err, errlen);
		if (k < 0) {
			log_waiting(r, err, disk);
			return -1;
		}
		sent += k;
	}
	/* Receipts a relay that stopped left are settled before anything is
	 * chosen to send. */
	if (receipts_ready(r, err, errlen) < 0)
		return -1;
	for (;;) {
		struct outbox_row *rows = NULL;
		size_t n = 0, ne = 0;

		if (r->stopping && *r->stopping)
			break;
		notify_keepalive(); /* each session of a long backlog, as outbox_pump */
		if (db_outbox_due(r->db, r->now, r->cfg->batch_size, &rows, &n) < 0) {
			snprintf(err, errlen, "database: %s", db_error(r->db));
			return -1;
		}
		if (n == 0 || rows[0].id == last_first) {
			outbox_rows_free(rows, n);
			break;
		}
		last_first = rows[0].id;
		/* Texts go one by one to the gateway; emails share one SMTP session. */
		struct outbox_row *emails = xcalloc(n, sizeof *emails);
		for (size_t i = 0; i < n; i++) {
			if (rows[i].channel == CHANNEL_SMS) {
				int k = slow ? text_later(r, &rows[i]) : send_text(r, &rows[i], &slow);
				if (k < 0) {
					snprintf(err, errlen, "database: %s", db_error(r->db));
					failed = 1;
				} else {
					sent += k;
				}
				outbox_row_clear(&rows[i]);
			} else {
				emails[ne++] = rows[i];
			}
		}
		free(rows);
		if (ne) {
			unsigned long disk = db_disk_failures(r->db);
			int k = session_begin(r, emails, ne, err, errlen) < 0 ? -1 : session_finish(r, err, errlen);
			if (k < 0) {
				log_waiting(r, err, disk);
				return -1;
			}
			sent += k;
		} else {
			free(emails);
		}
		if (failed)
			return -1;
	}
	return sent;
}

int outbox_track_deliveries(struct relay *r)
{
	struct outbox_row *rows = NULL;
	size_t n = 0;
	int changed = 0;

	if (!r->sms)
		return 0;
	/* Texts of the last two days whose delivery is not final yet. */
	if (db_outbox_awaiting_delivery(r->db, r->now - 2 * 86400, 50, &rows, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		enum sms_delivery d = SMS_DELIVERY_UNKNOWN;
		char err[256] = "";
		enum sms_result res = r->sms->provider->status(r->sms, rows[i].provider_id, &d, err, sizeof err);
		/* Esendex accepts a text to an opted-out number and fails it afterwards. */
		int opted_out = res == SMS_OPTED_OUT;
		if (res != SMS_OK && !opted_out)
			continue;
		if (opted_out)
			d = SMS_DELIVERY_FAILED;
		const char *name = sms_delivery_name(d);
		if (rows[i].delivery && !strcmp(rows[i].delivery, name))
			continue;
		if (db_begin(r->db) < 0)
			break;
		int bad = db_outbox_set_delivery(r->db, rows[i].id, NULL, name) < 0;
		if (!bad && opted_out)
			bad = db_contact_set_opted_out(r->db, CHANNEL_SMS, rows[i].rcpt, r->now) < 0;
		if (!bad && (d == SMS_DELIVERY_FAILED || d == SMS_DELIVERY_UNDELIVERED)) {
			char why[400];
			snprintf(why, sizeof why, "%s%s%s",
			         opted_out ? "the young person's number has opted out of texts"
			                   : "the gateway reports that the text was not delivered to the phone",
			         err[0] ? ": " : "", err);
			bad = undeliverable(r, &rows[i], why) < 0;
		}
		if (bad || db_commit(r->db) < 0) {
			db_rollback(r->db);
			break;
		}
		log_info("outbox %lld: text %s", rows[i].id, name);
		changed++;
	}
	outbox_rows_free(rows, n);
	return changed;
}

int outbox_alert_stale(struct relay *r)
{
	struct outbox_row *rows = NULL;
	size_t n = 0;
	int alerted = 0;

	if (db_outbox_stale(r->db, r->now - (long long)r->cfg->alert_after_hours * 3600, 50, &rows, &n) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		struct outbox_row *o = &rows[i];
		int to_young_person = kind_reaches_young_person(o->kind);
		if (db_begin(r->db) < 0)
			break;
		int bad = db_outbox_mark_alerted(r->db, o->id, r->now) < 0;
		if (!bad && to_young_person) {
			struct conversation c;
			char why[600];
			snprintf(why, sizeof why,
			         "it is still not delivered after %d hours (%d attempts; last: %s). It stays "
			         "queued and is retried; this alert is not repeated.",
			         r->cfg->alert_after_hours, o->attempts, o->last_error ? o->last_error : "none");
			if (o->conversation_id && db_conversation_by_id(r->db, o->conversation_id, &c) == 0) {
				bad = outgoing_delayed(r, &c, o->kind, why) < 0;
				conversation_free(&c);
			}
		}
		if (bad || db_commit(r->db) < 0) {
			db_rollback(r->db);
			break;
		}
		log_error("outbox %lld (%s, %s): still not delivered after %d hours; %s", o->id, kind_stored(o->kind),
		          channel_stored(o->channel), r->cfg->alert_after_hours,
		          to_young_person ? "advisers alerted" : "check the mail server");
		alerted++;
	}
	outbox_rows_free(rows, n);
	return alerted;
}
