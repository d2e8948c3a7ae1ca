/* db_outbox.c: the outbox: adding a message to send (its row and its data
 * together), the rows due, marking outcomes, SMS delivery states, stale rows
 * for alerts, and the per-sender count that limits auto-replies. */
#include "db_p.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static int outbox_add(struct db *db, const struct outbox_new *o, long long *id)
{
	sqlite3_stmt *st =
		db_prepare(db, "INSERT INTO outbox(conversation_id, message, kind, channel, message_id, mail_from, "
	                       "rcpt, state, attempts, next_attempt_at, created_at, parts) "
	                       "VALUES (?,?,?,?,?,?,?,'pending',0,?,?,?)");
	if (!st)
		return -1;
	if (o->conversation_id)
		sqlite3_bind_int64(st, 1, o->conversation_id);
	else
		sqlite3_bind_null(st, 1);
	if (o->message_row)
		sqlite3_bind_int64(st, 2, o->message_row);
	else
		sqlite3_bind_null(st, 2);
	db_bind_text(st, 3, kind_stored(o->kind));
	db_bind_text(st, 4, channel_stored(o->channel));
	db_bind_text(st, 5, o->message_id);
	db_bind_text(st, 6, o->mail_from);
	db_bind_text(st, 7, o->rcpt);
	sqlite3_bind_int64(st, 8, o->next_attempt_at);
	sqlite3_bind_int64(st, 9, o->created_at);
	if (o->parts)
		sqlite3_bind_int(st, 10, o->parts);
	else
		sqlite3_bind_null(st, 10);
	if (db_step_done(db, st) < 0)
		return -1;
	long long row = sqlite3_last_insert_rowid(db->h);
	if (!(st = db_prepare(db, "INSERT INTO outbox_data(id, data) VALUES (?, ?)")))
		return -1;
	sqlite3_bind_int64(st, 1, row);
	sqlite3_bind_blob64(st, 2, o->data, o->len, SQLITE_TRANSIENT);
	if (db_step_done(db, st) < 0)
		return -1;
	if (id)
		*id = row;
	return 0;
}

/* Inside the caller's transaction (which it rolls back on failure), or a
 * transaction of its own: never a row without its message. */
int db_outbox_add(struct db *db, const struct outbox_new *o, long long *id)
{
	int own = sqlite3_get_autocommit(db->h);
	if (own && db_begin(db) < 0)
		return -1;
	int rc = outbox_add(db, o, id);
	if (own && (rc < 0 || db_commit(db) < 0)) {
		db_rollback(db);
		rc = -1;
	}
	return rc;
}

static void outbox_read(sqlite3_stmt *st, struct outbox_row *o)
{
	memset(o, 0, sizeof *o);
	o->id = sqlite3_column_int64(st, 0);
	o->conversation_id = sqlite3_column_int64(st, 1);
	o->message_row = sqlite3_column_int64(st, 2);
	o->kind = kind_from_stored((const char *)sqlite3_column_text(st, 3));
	o->channel = channel_from_stored((const char *)sqlite3_column_text(st, 4));
	o->message_id = db_col_text(st, 5);
	o->mail_from = db_col_text(st, 6);
	o->rcpt = db_col_text(st, 7);
	o->len = (size_t)sqlite3_column_bytes(st, 8);
	o->data = xmalloc(o->len + 1);
	if (o->len)
		memcpy(o->data, sqlite3_column_blob(st, 8), o->len);
	o->data[o->len] = '\0';
	o->state = outbox_state_from_stored((const char *)sqlite3_column_text(st, 9));
	o->attempts = sqlite3_column_int(st, 10);
	o->next_attempt_at = sqlite3_column_int64(st, 11);
	o->created_at = sqlite3_column_int64(st, 12);
	o->last_error = db_col_text(st, 13);
	o->provider_id = db_col_text(st, 14);
	o->delivery = db_col_text(st, 15);
	o->parts = sqlite3_column_int(st, 16);
}

/* Steps st to its end, reading each row as an outbox row into a new array
 * (*rows owned by the caller; NULL and 0 on failure). Releases st. With
 * max_bytes, stops after the row that brings their messages to max_bytes
 * (so one at least). */
static int outbox_rows_upto(struct db *db, sqlite3_stmt *st, size_t max_bytes, struct outbox_row **rows, size_t *n)
{
	size_t bytes = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*rows = xrealloc(*rows, (*n + 1) * sizeof **rows);
		outbox_read(st, &(*rows)[(*n)++]);
		bytes += (*rows)[*n - 1].len;
		if (max_bytes && bytes >= max_bytes) {
			rc = SQLITE_DONE;
			break;
		}
	}
	db_release(db, st);
	if (rc != SQLITE_DONE) {
		outbox_rows_free(*rows, *n);
		*rows = NULL;
		*n = 0;
	}
	return rc;
}

static int outbox_rows(struct db *db, sqlite3_stmt *st, struct outbox_row **rows, size_t *n)
{
	return outbox_rows_upto(db, st, 0, rows, n);
}

static int outbox_due(struct db *db, sqlite3_stmt *st, long long now, int limit, size_t max_bytes, struct outbox_row **rows,
                      size_t *n)
{
	int rc;
	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int(st, 2, limit);
	rc = outbox_rows_upto(db, st, max_bytes, rows, n);
	if (rc != SQLITE_DONE) {
		db_failed(db, rc, NULL);
		return -1;
	}
	return 0;
}

int db_outbox_due(struct db *db, long long now, int limit, struct outbox_row **rows, size_t *n)
{
	/* The ids first, from the index: sorting whole rows (with each message)
	 * to pick a few hundred of a backlog of thousands was costly. */
	return outbox_due(db,
	                  db_prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id IN (SELECT id FROM outbox "
	                                 "WHERE state = 'pending' AND next_attempt_at <= ? ORDER BY id LIMIT ?) "
	                                 "ORDER BY id"),
	                  now, limit, 0, rows, n);
}

int db_outbox_due_emails(struct db *db, long long now, int limit, size_t max_bytes, struct outbox_row **rows, size_t *n)
{
	return outbox_due(db,
	                  db_prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE id IN (SELECT id FROM outbox "
	                                 "WHERE state = 'pending' AND next_attempt_at <= ? AND channel = 'email' "
	                                 "ORDER BY id LIMIT ?) ORDER BY id"),
	                  now, limit, max_bytes, rows, n);
}

int db_outbox_pending_count(struct db *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM outbox WHERE state = 'pending'");
	if (!st)
		return -1;
	return db_single_int(db, st);
}

int db_outbox_mark_received(struct db *db, long long id, const char *message_id, long long sent_at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE outbox SET state = 'sent', attempts = attempts + 1, last_error = NULL, "
	                                  "sent_at = ? WHERE id = ? AND message_id = ? AND state = 'pending' AND "
	                                  "channel = 'email'");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, sent_at);
	sqlite3_bind_int64(st, 2, id);
	db_bind_text(st, 3, message_id);
	if (db_step_done(db, st) < 0)
		return -1;
	return sqlite3_changes(db->h) > 0 ? 0 : 1;
}

int db_outbox_mark(struct db *db, long long id, enum outbox_state state, int attempts, long long next_attempt_at,
                   const char *last_error, long long sent_at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE outbox SET state = ?, attempts = ?, next_attempt_at = ?, last_error = ?, "
	                                  "sent_at = ? WHERE id = ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, outbox_state_stored(state));
	sqlite3_bind_int(st, 2, attempts);
	sqlite3_bind_int64(st, 3, next_attempt_at);
	db_bind_text(st, 4, last_error);
	if (sent_at)
		sqlite3_bind_int64(st, 5, sent_at);
	else
		sqlite3_bind_null(st, 5);
	sqlite3_bind_int64(st, 6, id);
	return db_step_done(db, st);
}

void strings_free(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		free(s[i]);
	free(s);
}

int db_outbox_message_ids(struct db *db, long long conversation_id, enum message_kind kind, char ***ids, size_t *n)
{
	sqlite3_stmt *st =
		db_prepare(db, "SELECT message_id FROM outbox WHERE conversation_id = ? AND kind = ? ORDER BY id");
	int rc;
	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	db_bind_text(st, 2, kind_stored(kind));
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		*ids = xrealloc(*ids, (*n + 1) * sizeof **ids);
		(*ids)[(*n)++] = db_col_text(st, 0);
	}
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void outbox_row_clear(struct outbox_row *o)
{
	free(o->message_id);
	free(o->mail_from);
	free(o->rcpt);
	free(o->data);
	free(o->last_error);
	free(o->provider_id);
	free(o->delivery);
	memset(o, 0, sizeof *o);
}

void outbox_rows_free(struct outbox_row *rows, size_t n)
{
	for (size_t i = 0; rows && i < n; i++)
		outbox_row_clear(&rows[i]);
	free(rows);
}

int db_outbox_for(struct db *db, long long conversation_id, db_outbox_cb cb, void *arg)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE conversation_id = ? ORDER BY id");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct outbox_row o;
		outbox_read(st, &o);
		cb(arg, &o);
		outbox_row_clear(&o);
	}
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_outbox_set_delivery(struct db *db, long long id, const char *provider_id, const char *delivery)
{
	sqlite3_stmt *st =
		db_prepare(db, "UPDATE outbox SET provider_id = coalesce(?, provider_id), delivery = ? WHERE id = ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, provider_id);
	db_bind_text(st, 2, delivery);
	sqlite3_bind_int64(st, 3, id);
	return db_step_done(db, st);
}

int db_outbox_awaiting_delivery(struct db *db, long long since, int limit, struct outbox_row **rows, size_t *n)
{
	sqlite3_stmt *st =
		db_prepare(db,
	                   "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE channel = 'sms' AND state = 'sent' "
	                   "AND provider_id IS NOT NULL AND coalesce(delivery, 'queued') IN ('queued', 'sent', 'unknown') "
	                   "AND created_at >= ? ORDER BY id LIMIT ?");
	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	sqlite3_bind_int(st, 2, limit);
	return outbox_rows(db, st, rows, n) == SQLITE_DONE ? 0 : -1;
}

int db_outbox_recent(struct db *db, const char *rcpt, enum message_kind kind, long long since)
{
	/* Email rows hold "address\n"; texts hold the bare number. */
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM outbox WHERE rcpt IN (?, ? || char(10)) AND kind = ? "
	                                  "AND created_at >= ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, rcpt);
	db_bind_text(st, 2, rcpt);
	db_bind_text(st, 3, kind_stored(kind));
	sqlite3_bind_int64(st, 4, since);
	return db_single_int(db, st);
}

int db_outbox_stale(struct db *db, long long created_before, int limit, struct outbox_row **rows, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " OUTBOX_COLUMNS " FROM outbox WHERE state = 'pending' AND "
	                                  "alerted_at IS NULL AND created_at <= ? ORDER BY id LIMIT ?");
	*rows = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, created_before);
	sqlite3_bind_int(st, 2, limit);
	return outbox_rows(db, st, rows, n) == SQLITE_DONE ? 0 : -1;
}

int db_outbox_mark_alerted(struct db *db, long long id, long long at)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE outbox SET alerted_at = ? WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, at);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st);
}

int db_outbox_set_error(struct db *db, long long id, const char *error)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE outbox SET last_error = ? WHERE id = ? AND state = 'pending'");
	if (!st)
		return -1;
	db_bind_text(st, 1, error);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st);
}
