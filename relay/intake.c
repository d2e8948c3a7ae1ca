/* intake.c: one received message, handled on its own; what cannot be is set aside. */
#include "intake.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "inbound.h"
#include "log.h"
#include "mime.h"
#include "outgoing.h"
#include "util.h"
#include "young.h"

/* How much of a set-aside message's source its forward quotes (the whole of
 * it stays in the database: relay show, relay export). */
#define QUOTE_MAX (16 * 1024)

/* What went wrong, in words fit for the advisers: the error the handling
 * logged (log lines carry no personal data), else a general one; valid
 * UTF-8 without control characters, at most REASON_MAX bytes, since it
 * stands in a subject line. */
#define REASON_MAX 200

static void reason_text(const struct relay *r, char *out, size_t outlen)
{
	const char *logged = log_error_since_mark();
	size_t plen = strlen(r->cfg->reference_prefix);
	/* "RUS-6E2P8: template ...": that reference was undone with the rest. */
	if (!strncmp(logged, r->cfg->reference_prefix, plen) && logged[plen] == '-') {
		const char *colon = strstr(logged, ": ");
		if (colon && colon - logged <= (long)plen + 12)
			logged = colon + 2;
	}
	char *clean = utf8_sanitize(logged, strlen(logged));
	size_t k = 0;

	for (const char *p = clean; *p && k + 4 < outlen && k < REASON_MAX;) {
		uint32_t cp;
		size_t n = utf8_decode((const unsigned char *)p, strlen(p), &cp);
		if (!n)
			break;
		if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0))
			out[k++] = ' ';
		else {
			memcpy(out + k, p, n);
			k += n;
		}
		p += n;
	}
	out[k] = '\0';
	free(clean);
	if (str_is_blank(out))
		snprintf(out, outlen, "the relay could not handle it (see the relay's log)");
}

/* The source made safe to show in a plain-text email: valid UTF-8, no
 * control characters but newline and tab, at most QUOTE_MAX bytes. Owned. */
static char *quote_source(const char *raw, size_t len)
{
	size_t n = len > QUOTE_MAX ? QUOTE_MAX : len;
	char *s = utf8_sanitize(raw, n);
	char *w = s;
	for (const char *p = s; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == '\r')
			continue;
		*w++ = (ch < 0x20 && ch != '\n' && ch != '\t') || ch == 0x7f ? '?' : *p;
	}
	*w = '\0';
	if (n < len) {
		char *more = xasprintf("%s\n[... %zu more bytes, kept in the relay]", s, len - n);
		free(s);
		return more;
	}
	return s;
}

/* One set-aside message, as far as it could be read. */
struct aside {
	enum channel channel;
	const char *contact;  /* the sender's address or number; NULL: unknown */
	const char *subject;  /* may be NULL */
	const char *readable; /* what could be read (an email's text, a text's body); may be NULL */
	const struct mail *m; /* the parsed email, for its attachment list; may be NULL */
	const char *raw;      /* as received */
	size_t len;
	const char *reason;
	const char *keys[2]; /* inbound keys that say "taken in"; NULL for none */
	int bare;            /* forward with the ordinary template (email/set_aside failed too) */
};

/* Stores, forwards and records a set-aside message; in the caller's savepoint. */
static int set_aside(struct relay *r, const struct aside *a, long long *row_out)
{
	struct conversation c;
	struct buf text;
	long long row = 0;
	int rc = -1;

	if (young_conversation(r, a->channel, a->contact ? a->contact : "unknown", &c) < 0)
		return -1;
	struct message_row mr = {
		.conversation_id = c.id,
		.kind = KIND_SETASIDE,
		.channel = a->channel,
		.at = r->now,
		.subject = a->subject,
		.body = a->readable,
		.raw = a->raw,
		.raw_len = a->len,
		.detail = a->reason,
	};
	buf_init(&text);
	if (db_message_add(r->db, &mr, &row) < 0)
		goto out;
	if (a->readable && !str_is_blank(a->readable))
		buf_adds(&text, a->readable);
	else
		buf_adds(&text, "(nothing could be read as text)");
	if (a->channel == CHANNEL_EMAIL) {
		char *q = quote_source(a->raw, a->len);
		buf_printf(&text, "\n\nThe message as it arrived:\n\n%s", q);
		free(q);
	}
	if (a->bare) {
		char *note = xasprintf("Note:      could not be handled automatically: %s; kept as received "
		                       "(relay show %s, relay retry %s).\n",
		                       a->reason, c.ref, c.ref);
		int k = outgoing_forward(r, &c, a->subject, buf_str(&text), a->m, row, note, 0);
		free(note);
		if (k < 0)
			goto out;
	} else if (outgoing_set_aside(r, &c, a->reason, buf_str(&text), a->m, row) < 0)
		goto out;
	c.last_activity = c.last_inbound_at = r->now;
	c.state = CONVERSATION_OPEN;
	if (db_conversation_update(r->db, &c) < 0)
		goto out;
	for (size_t i = 0; i < 2; i++)
		if (a->keys[i] && db_inbound_add(r->db, a->keys[i], row) < 0)
			goto out;
	log_warn("%s: a received %s could not be handled automatically (%s); kept as received and forwarded to the "
	         "advisers; `relay retry %s` hands it back",
	         c.ref, channel_said(a->channel), a->reason, c.ref);
	if (row_out)
		*row_out = row;
	rc = 0;
out:
	buf_free(&text);
	conversation_free(&c);
	return rc;
}

/* Sets aside as much as can be read, then, if even that fails (the sender's
 * address or the text may be what breaks, or a templates directory older
 * than email/set_aside), the bare message in a conversation of unknown
 * contact, forwarded with the ordinary template. 0, or -1 when the database
 * failed. */
static int set_aside_twice(struct relay *r, struct aside *a)
{
	unsigned long disk = db_disk_failures(r->db);

	if (db_savepoint(r->db) < 0)
		return -1;
	if (set_aside(r, a, NULL) == 0)
		return db_savepoint_release(r->db);
	if (db_savepoint_undo(r->db) < 0 || db_disk_failures(r->db) != disk)
		return -1;
	a->contact = NULL;
	a->subject = NULL;
	a->readable = NULL;
	a->m = NULL;
	a->bare = 1;
	return set_aside(r, a, NULL);
}

/* The key that says a set-aside email was taken in, whatever UID or copy
 * brings it again: its bytes. */
static char *source_digest_key(const char *raw, size_t len)
{
	unsigned char digest[32];
	char hex[65];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return xasprintf("setaside:sha256:%s", hex);
}

static int set_aside_email(struct relay *r, const char *source_key, const char *raw, size_t len, const char *reason)
{
	struct mail_limits lim = { r->cfg->imap_max_depth, r->cfg->imap_max_parts, 0 };
	struct mail m;
	char *digest = source_digest_key(raw, len);
	int rc;

	int known = db_inbound_known(r->db, digest);
	if (known != 0) {
		/* The same bytes were set aside before (a rescan, a second copy). */
		rc = known < 0 || db_inbound_add(r->db, source_key, 0) < 0 ? -1 : 1;
		free(digest);
		return rc;
	}
	mail_parse(raw, len, &lim, &m);
	struct aside a = {
		.channel = CHANNEL_EMAIL,
		.contact = m.from_address ? m.from_address : (m.return_path && *m.return_path ? m.return_path : NULL),
		.subject = m.subject,
		.readable = m.text,
		.m = &m,
		.raw = raw,
		.len = len,
		.reason = reason,
		.keys = { source_key, digest },
	};
	rc = set_aside_twice(r, &a);
	mail_free(&m);
	free(digest);
	return rc;
}

int intake_email(struct relay *r, const char *source_key, const char *raw, size_t len, int truncated)
{
	unsigned long disk = db_disk_failures(r->db);
	char reason[300];

	if (db_savepoint(r->db) < 0)
		return -1;
	log_error_mark();
	int rc = inbound_email(r, source_key, raw, len, truncated);
	if (rc >= 0)
		return db_savepoint_release(r->db) < 0 ? -1 : rc;
	reason_text(r, reason, sizeof reason);
	/* The disk, not the message: the batch is taken again once it works. */
	if (db_savepoint_undo(r->db) < 0 || db_disk_failures(r->db) != disk)
		return -1;
	return set_aside_email(r, source_key, raw, len, reason);
}

static int set_aside_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
                          const char *reason)
{
	char *key = xasprintf("sms:%s:%s", provider, id);
	char *text = utf8_sanitize(body ? body : "", body ? strlen(body) : 0);
	struct aside a = {
		.channel = CHANNEL_SMS,
		.contact = sender && *sender ? sender : NULL,
		.readable = text,
		.raw = body ? body : "",
		.len = body ? strlen(body) : 0,
		.reason = reason,
		.keys = { key, NULL },
	};
	int rc = set_aside_twice(r, &a);
	free(text);
	free(key);
	return rc;
}

int intake_text(struct relay *r, const char *provider, const char *id, const char *sender, const char *body,
                long long received_at)
{
	unsigned long disk = db_disk_failures(r->db);
	char reason[300];
	int rc;

	if (db_savepoint(r->db) < 0)
		return -1;
	log_error_mark();
	rc = young_text(r, provider, id, sender, body, received_at);
	if (rc >= 0)
		return db_savepoint_release(r->db) < 0 ? -1 : rc;
	reason_text(r, reason, sizeof reason);
	if (db_savepoint_undo(r->db) < 0 || db_disk_failures(r->db) != disk)
		return -1;
	return set_aside_text(r, provider, id, sender, body, reason);
}

/* ---- relay retry ------------------------------------------------------------ */

/* Hands one set-aside message back; in the caller's transaction. 1 handled,
 * 0 still failing (nothing changed), -1 database failure. */
static int retry_one(struct relay *r, const struct conversation *c, const struct set_aside *s)
{
	char key[64], note[400];
	unsigned long disk = db_disk_failures(r->db);
	int rc;

	/* A key of its own: the original's keys say "taken in" already. */
	snprintf(key, sizeof key, "retry:%lld", s->id);
	if (db_savepoint(r->db) < 0)
		return -1;
	log_error_mark();
	if (s->channel == CHANNEL_SMS)
		rc = young_text(r, "retry", key, c->contact, s->raw, r->now) < 0 ? -1 : 0;
	else
		rc = inbound_email(r, key, s->raw, s->len, 0);
	if (rc >= 0) {
		snprintf(note, sizeof note, "handed back by relay retry");
		if (db_set_aside_done(r->db, s->id, note) < 0)
			return -1;
		return db_savepoint_release(r->db) < 0 ? -1 : 1;
	}
	snprintf(note, sizeof note, "%s", log_error_since_mark());
	if (db_savepoint_undo(r->db) < 0 || db_disk_failures(r->db) != disk)
		return -1;
	log_warn("%s: a set-aside message still cannot be handled (%s); it stays set aside", c->ref,
	         note[0] ? note : "see above");
	return 0;
}

int intake_retry(struct relay *r, const char *ref, int *handled, int *still, char *err, size_t errlen)
{
	struct conversation c;
	struct set_aside *list = NULL;
	size_t n = 0;
	int rc = db_conversation_by_ref(r->db, ref, &c);

	*handled = *still = 0;
	if (rc != 0) {
		if (rc < 0)
			snprintf(err, errlen, "database: %s", db_error(r->db));
		return rc;
	}
	if (db_set_aside_list(r->db, c.id, &list, &n) < 0) {
		snprintf(err, errlen, "database: %s", db_error(r->db));
		conversation_free(&c);
		return -1;
	}
	rc = 0;
	for (size_t i = 0; i < n; i++) {
		if (db_begin(r->db) < 0) {
			rc = -1;
			break;
		}
		int k = retry_one(r, &c, &list[i]);
		if (k < 0 || db_commit(r->db) < 0) {
			db_rollback(r->db);
			rc = -1;
			break;
		}
		if (k)
			(*handled)++;
		else
			(*still)++;
	}
	if (rc < 0)
		snprintf(err, errlen, "database: %s", db_error(r->db));
	db_set_aside_free(list, n);
	conversation_free(&c);
	return rc;
}
