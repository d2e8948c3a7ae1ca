/* mailbox.c: the IMAP inbox, polled with a cursor and commit-before-acknowledge. */
#include "mailbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "imap.h"
#include "intake.h"
#include "log.h"
#include "login.h"
#include "settings.h"
#include "util.h"

/* After a login that failed with a token: a refused token is not offered
 * again. */
static void after_login(const struct config *c, const struct imap_settings *s, int rc, const char *err)
{
	if (rc < 0 && s->token && strstr(err, "refused the OAuth2 token"))
		login_token_refused(c);
}

int mailbox_open(struct relay *r, struct imap **out, char *err, size_t errlen)
{
	struct imap_settings s;
	*out = NULL;
	if (settings_imap(r->cfg, &s, err, errlen) < 0)
		return -1;
	int rc = imap_open(&s, out, err, errlen);
	after_login(r->cfg, &s, rc, err);
	return rc;
}

/* Logs in again with a fresh token when the session's is due for renewal
 * or the server ended the session for it: a reconnect, not a failure. 0, or
 * -1 with err when the new login failed. */
static int renew(struct relay *r, struct imap *im, char *err, size_t errlen)
{
	struct imap_settings s;
	int due = imap_renewal_due(im, (long long)time(NULL));
	if (!due)
		return 0;
	if (due == 2) {
		/* The server knows better than our clock: that token is done. */
		login_token_refused(r->cfg);
		log_info("mailbox %s: the server ended the session because its access token expired; logging in again "
		         "with a new access token",
		         r->cfg->imap_mailbox);
	} else {
		log_info("mailbox %s: the access token is due for renewal; logging in again with a new access token",
		         r->cfg->imap_mailbox);
	}
	if (settings_imap(r->cfg, &s, err, errlen) < 0)
		return -1;
	int rc = imap_reopen(im, &s, err, errlen);
	after_login(r->cfg, &s, rc, err);
	return rc;
}

struct batch {
	struct relay *r;
	uint32_t validity;
	uint32_t last_uid;
	int handled;
};

static int one_message(void *arg, uint32_t uid, const char *raw, size_t len, int truncated)
{
	struct batch *b = arg;
	char key[512];
	/* A truncated message is logged once, by inbound.c, naming its key. */
	snprintf(key, sizeof key, "imap:%s:%u:%u", b->r->cfg->imap_mailbox, b->validity, uid);
	if (intake_email(b->r, key, raw, len, truncated) < 0)
		return -1;
	if (uid > b->last_uid)
		b->last_uid = uid;
	b->handled++;
	return 0;
}

/* \Seen is owed to every UID above the "seen" cursor up to the poll cursor:
 * each was taken and committed (a UID with no message is a no-op to the
 * server, and on a first poll the UIDs not taken were seen already). It is
 * paid with one UID STORE once SEEN_EVERY messages are owed, and at the end
 * of a poll: each STORE has a cost of its own that grows with the mailbox
 * (Dovecot, 100,000 messages: 22 ms or more for 200 flags, 38 ms for
 * 1,000). What a failure leaves owed is paid at the start of the next
 * poll. */
#define SEEN_EVERY 1000

struct seen {
	char source[300]; /* "imap-seen:MAILBOX" in the cursor table */
	uint32_t validity;
	uint32_t upto; /* every UID up to this one is \Seen */
};

/* Marks (s->upto, position] seen and records it. A failure is logged, not
 * returned: the messages are stored, and are marked at the next poll. */
static void pay_seen(struct relay *r, struct imap *im, struct seen *s, uint32_t position)
{
	char err[512];

	if (position <= s->upto)
		return;
	if (imap_mark_seen(im, s->upto + 1, position, err, sizeof err) < 0) {
		/* The server ended the session for its token: the search that
		 * follows logs in again, and the next poll marks them. */
		if (imap_renewal_due(im, (long long)time(NULL)) == 2)
			return;
		log_warn("mailbox: could not mark messages seen (%s); they are stored, will not be taken twice, and "
		         "are marked at the next poll",
		         err);
		return;
	}
	s->upto = position;
	/* Lost (a crash before the disk has it), the range is marked again:
	 * the server does nothing. */
	if (db_begin_lazy(r->db) < 0 || db_cursor_set(r->db, s->source, s->validity, position) < 0 || db_commit(r->db) < 0)
		db_rollback(r->db);
}

int mailbox_poll(struct relay *r, struct imap *im, mailbox_between_batches between, void *arg, char *err, size_t errlen)
{
	char source[300];
	long long validity = 0, position = 0, seen_validity = 0, seen_upto = 0;
	uint32_t *uids = NULL;
	size_t n = 0, owed = 0;
	int handled = 0;
	uint32_t uv = imap_uidvalidity(im);
	struct seen seen = { .validity = uv };

	if (renew(r, im, err, errlen) < 0)
		return -1;
	uv = imap_uidvalidity(im);
	seen.validity = uv;
	snprintf(source, sizeof source, "imap:%s", r->cfg->imap_mailbox);
	snprintf(seen.source, sizeof seen.source, "imap-seen:%s", r->cfg->imap_mailbox);
	int have = db_cursor_get(r->db, source, &validity, &position);
	int have_seen = have < 0 ? -1 : db_cursor_get(r->db, seen.source, &seen_validity, &seen_upto);
	if (have < 0 || have_seen < 0) {
		snprintf(err, errlen, "database: %s", db_error(r->db));
		return -1;
	}
	int first = have == 1;
	if (!first && validity != (long long)uv) {
		log_warn("mailbox %s: UIDVALIDITY changed (%lld to %u); rescanning, a message already taken in is known "
		         "by what it is and skipped",
		         r->cfg->imap_mailbox, validity, uv);
		position = 0;
	}
	if (have_seen == 0 && seen_validity == (long long)uv)
		seen.upto = (uint32_t)seen_upto;
	else if (have_seen == 1)
		seen.upto = (uint32_t)position; /* a relay before the seen cursor marked each batch */
	/* Owed since a poll that failed. */
	pay_seen(r, im, &seen, (uint32_t)position);
	if (imap_search(im, (uint32_t)position, first, &uids, &n, err, errlen) < 0) {
		/* A session its token outlived is made again and asked again, once. */
		if (imap_renewal_due(im, (long long)time(NULL)) != 2 || renew(r, im, err, errlen) < 0 ||
		    imap_uidvalidity(im) != uv || imap_search(im, (uint32_t)position, first, &uids, &n, err, errlen) < 0)
			return -1;
	}
	if (first && n == 0) {
		uint32_t next = imap_uidnext(im);
		seen.upto = next ? next - 1 : 0;
		if (db_begin(r->db) < 0 || db_cursor_set(r->db, source, uv, seen.upto) < 0 ||
		    db_cursor_set(r->db, seen.source, uv, seen.upto) < 0 || db_commit(r->db) < 0) {
			db_rollback(r->db);
			snprintf(err, errlen, "database: %s", db_error(r->db));
			free(uids);
			return -1;
		}
	}
	if (n)
		log_info("mailbox %s: %zu new message%s", r->cfg->imap_mailbox, n, n == 1 ? "" : "s");
	size_t per = (size_t)r->cfg->imap_batch_size; /* messages per fetch batch */
	for (size_t i = 0; i < n; i += per) {
		size_t k = n - i < per ? n - i : per;
		struct batch b = { r, uv, (uint32_t)position, 0 };

		if (r->stopping && *r->stopping)
			break;
		if (db_begin(r->db) < 0) {
			snprintf(err, errlen, "database: %s", db_error(r->db));
			goto fail;
		}
		if (imap_fetch(im, uids + i, k, (size_t)r->cfg->imap_max_message_kb * 1024, one_message, &b, err, errlen) <
		    0) {
			db_rollback(r->db);
			/* As for the search: the batch again, once, on a new session
			 * (nothing of it was committed). */
			if (imap_renewal_due(im, (long long)time(NULL)) != 2 || renew(r, im, err, errlen) < 0 ||
			    imap_uidvalidity(im) != uv || db_begin(r->db) < 0)
				goto fail;
			b = (struct batch){ r, uv, (uint32_t)position, 0 };
			if (imap_fetch(im, uids + i, k, (size_t)r->cfg->imap_max_message_kb * 1024, one_message, &b, err,
			               errlen) < 0) {
				db_rollback(r->db);
				goto fail;
			}
		}
		/* On a first poll the cursor must still pass every UID below the
		 * newest unseen one, so take the batch's highest. */
		uint32_t top = uids[i + k - 1] > b.last_uid ? uids[i + k - 1] : b.last_uid;
		if (db_cursor_set(r->db, source, uv, top) < 0 || db_commit(r->db) < 0) {
			db_rollback(r->db);
			snprintf(err, errlen, "database: %s", db_error(r->db));
			goto fail;
		}
		position = top;
		handled += b.handled;
		/* Only now, with the messages safe on disk, tell the server. */
		owed += k;
		if (owed >= SEEN_EVERY) {
			pay_seen(r, im, &seen, (uint32_t)position);
			owed = 0;
		}
		/* The caller's turn: what is stored may go out while the next
		 * batch comes in. */
		if (between)
			between(arg);
		log_progress("mailbox: messages", i + k, n);
		if (handled > 200 && (i / per) % 10 == 9)
			log_info("mailbox %s: %d of %zu handled", r->cfg->imap_mailbox, handled, n);
	}
	pay_seen(r, im, &seen, (uint32_t)position);
	free(uids);
	return handled;
fail:
	free(uids);
	return -1;
}
