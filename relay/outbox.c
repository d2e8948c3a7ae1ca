/* outbox.c: flushes the outbox through the SMTP server. */
#include "outbox.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "smtp.h"
#include "util.h"

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

static void settings(const struct config *c, struct smtp_settings *s)
{
	memset(s, 0, sizeof *s);
	s->host = c->smtp_host;
	s->port = c->smtp_port;
	s->security = c->smtp_security;
	s->username = c->smtp_username;
	s->password = c->smtp_password;
	s->ca_file = c->smtp_ca_file;
	s->timeout = c->smtp_timeout;
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
		log_info("outbox %lld (%s, %s): sent", o->id, o->kind, ref);
		return db_outbox_mark(r->db, o->id, "sent", attempts, o->next_attempt_at, NULL, r->now);
	case SMTP_TEMPORARY: {
		long long wait = outbox_backoff(attempts, r->cfg->retry_min, r->cfg->retry_max, random01());
		log_warn("outbox %lld (%s, %s): temporary failure, retry in %llds: %s", o->id, o->kind, ref, wait, s->detail);
		return db_outbox_mark(r->db, o->id, "pending", attempts, r->now + wait, s->detail, 0);
	}
	case SMTP_PERMANENT:
		log_error("outbox %lld (%s, %s): refused permanently, kept as failed: %s", o->id, o->kind, ref, s->detail);
		return db_outbox_mark(r->db, o->id, "failed", attempts, o->next_attempt_at, s->detail, 0);
	}
	return -1;
}

int outbox_flush(struct relay *r, char *err, size_t errlen)
{
	struct smtp_settings ss;
	int sent = 0;
	long long last_first = -1;

	settings(r->cfg, &ss);
	for (;;) {
		struct outbox_row *rows = NULL;
		size_t n = 0;

		if (r->stopping && *r->stopping)
			break;
		if (db_outbox_due(r->db, r->now, r->cfg->batch_size, &rows, &n) < 0) {
			snprintf(err, errlen, "database: %s", db_error(r->db));
			return -1;
		}
		if (n == 0 || rows[0].id == last_first) {
			outbox_rows_free(rows, n);
			break;
		}
		last_first = rows[0].id;

		struct smtp_outgoing *msgs = xcalloc(n, sizeof *msgs);
		const char ***rcpts = xcalloc(n, sizeof *rcpts);
		for (size_t i = 0; i < n; i++) {
			msgs[i].mail_from = rows[i].mail_from ? rows[i].mail_from : r->cfg->from_address;
			msgs[i].nrcpt = split_rcpt(rows[i].rcpt, &rcpts[i]);
			msgs[i].rcpt = rcpts[i];
			msgs[i].data = rows[i].data;
			msgs[i].len = rows[i].len;
		}
		int rc = smtp_send(&ss, msgs, n, err, errlen);
		int dberr = 0;
		if (rc == 0) {
			/* One transaction per batch: a crash before it commits resends the
			 * batch with the same Message-IDs, the honest promise of a relay. */
			if (db_begin(r->db) < 0)
				dberr = 1;
			for (size_t i = 0; !dberr && i < n; i++) {
				if (record(r, &rows[i], &msgs[i]) < 0)
					dberr = 1;
				else if (msgs[i].outcome == SMTP_SENT)
					sent++;
			}
			if (dberr || db_commit(r->db) < 0) {
				db_rollback(r->db);
				dberr = 1;
			}
		}
		for (size_t i = 0; i < n; i++)
			free(rcpts[i]);
		free(rcpts);
		free(msgs);
		outbox_rows_free(rows, n);
		if (rc < 0) {
			log_warn("outbox: %s; %d message%s wait for the next attempt", err, db_outbox_pending_count(r->db),
			         db_outbox_pending_count(r->db) == 1 ? "" : "s");
			return -1;
		}
		if (dberr) {
			snprintf(err, errlen, "database: %s", db_error(r->db));
			return -1;
		}
	}
	return sent;
}
