/* db_stats.c: figures for relay stats and relay status: messages and
 * conversations since a time, open conversations, the backlog, and each
 * part's health as the daemon last wrote it. */
#include "db_p.h"


int db_stats_messages(struct db *db, long long since, db_stats_message_cb cb, void *arg)
{
	sqlite3_stmt *st =
		db_prepare(db, "SELECT kind, channel, at FROM message WHERE at >= ?1 AND kind IN ('inbound', 'reply') "
	                       "UNION ALL SELECT kind, channel, created_at FROM outbox WHERE created_at >= ?1 "
	                       "AND kind = 'autoreply' AND state <> 'failed'");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, kind_from_stored((const char *)sqlite3_column_text(st, 0)),
		   channel_from_stored((const char *)sqlite3_column_text(st, 1)), sqlite3_column_int64(st, 2));
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_stats_conversations(struct db *db, long long since, db_stats_conversation_cb cb, void *arg)
{
	sqlite3_stmt *st =
		db_prepare(db, "SELECT urgent, "
	                       "(SELECT min(at) FROM message m WHERE m.conversation_id = c.id AND kind = 'inbound'), "
	                       "(SELECT min(at) FROM message m WHERE m.conversation_id = c.id AND kind = 'reply') "
	                       "FROM conversation c WHERE created_at >= ?");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sqlite3_column_int(st, 0), sqlite3_column_int64(st, 1), sqlite3_column_int64(st, 2));
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_count_open(struct db *db)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FROM conversation WHERE state = 'open'");
	if (!st)
		return -1;
	return db_single_int(db, st);
}

int db_health_put(struct db *db, const struct db_health *h)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT OR REPLACE INTO health(part, state, last_ok, failing_since, reason, "
	                                  "alerted_at, reminded_at, alerts, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	db_bind_text(st, 1, h->part);
	db_bind_text(st, 2, h->state);
	sqlite3_bind_int64(st, 3, h->last_ok);
	sqlite3_bind_int64(st, 4, h->failing_since);
	db_bind_text(st, 5, h->reason && *h->reason ? h->reason : NULL);
	sqlite3_bind_int64(st, 6, h->alerted_at);
	sqlite3_bind_int64(st, 7, h->reminded_at);
	sqlite3_bind_int64(st, 8, h->alerts);
	sqlite3_bind_int64(st, 9, h->updated_at);
	return db_step_done(db, st);
}

int db_health_get(struct db *db, db_health_cb cb, void *arg)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT part, state, last_ok, failing_since, reason, alerted_at, reminded_at, "
	                                  "alerts, updated_at FROM health ORDER BY part");
	int rc;
	if (!st)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct db_health h = {
			.part = (const char *)sqlite3_column_text(st, 0),
			.state = (const char *)sqlite3_column_text(st, 1),
			.last_ok = sqlite3_column_int64(st, 2),
			.failing_since = sqlite3_column_int64(st, 3),
			.reason = (const char *)sqlite3_column_text(st, 4),
			.alerted_at = sqlite3_column_int64(st, 5),
			.reminded_at = sqlite3_column_int64(st, 6),
			.alerts = sqlite3_column_int(st, 7),
			.updated_at = sqlite3_column_int64(st, 8),
		};
		cb(arg, &h);
	}
	db_release(db, st);
	if (rc != SQLITE_DONE) {
		db_failed(db, rc, NULL);
		return -1;
	}
	return 0;
}

int db_backlog(struct db *db, int *forwards, long long *oldest_forward, int *replies, long long *oldest_reply)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT count(*) FILTER (WHERE kind = 'forward'),"
	                                  " coalesce(min(created_at) FILTER (WHERE kind = 'forward'), 0),"
	                                  " count(*) FILTER (WHERE kind IN ('reply', 'autoreply')),"
	                                  " coalesce(min(created_at) FILTER (WHERE kind IN ('reply', 'autoreply')), 0)"
	                                  " FROM outbox WHERE state = 'pending'");
	if (!st)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*forwards = sqlite3_column_int(st, 0);
		*oldest_forward = sqlite3_column_int64(st, 1);
		*replies = sqlite3_column_int(st, 2);
		*oldest_reply = sqlite3_column_int64(st, 3);
	}
	db_release(db, st);
	if (rc != SQLITE_ROW) {
		db_failed(db, rc, NULL);
		return -1;
	}
	return 0;
}
