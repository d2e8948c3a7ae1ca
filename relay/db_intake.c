/* db_intake.c: what the intake remembers between polls: the cursors (a
 * mailbox's UIDVALIDITY and last UID, an SMS gateway's text position) and the
 * keys of messages already taken in (de-duplication). */
#include "db_p.h"

#include <string.h>

#include "util.h"

int db_cursor_get(struct db *db, const char *source, long long *validity, long long *position)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT validity, position FROM cursor WHERE source = ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, source);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*validity = sqlite3_column_int64(st, 0);
		*position = sqlite3_column_int64(st, 1);
	}
	db_release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_cursor_set(struct db *db, const char *source, long long validity, long long position)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO cursor(source, validity, position) VALUES (?, ?, ?) "
	                                  "ON CONFLICT(source) DO UPDATE SET validity = excluded.validity, "
	                                  "position = excluded.position");
	if (!st)
		return -1;
	db_bind_text(st, 1, source);
	sqlite3_bind_int64(st, 2, validity);
	sqlite3_bind_int64(st, 3, position);
	return db_step_done(db, st);
}

int db_inbound_known(struct db *db, const char *key)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT 1 FROM inbound_key WHERE key = ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	db_release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_inbound_add(struct db *db, const char *key, long long message_row)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO inbound_key(key, message) VALUES (?, ?) ON CONFLICT DO NOTHING");
	if (!st)
		return -1;
	db_bind_text(st, 1, key);
	if (message_row)
		sqlite3_bind_int64(st, 2, message_row);
	else
		sqlite3_bind_null(st, 2);
	if (db_step_done(db, st) < 0)
		return -1;
	return sqlite3_changes(db->h) ? 0 : 1;
}

int db_inbound_message(struct db *db, const char *key, long long *message_row, char **raw, size_t *len)
{
	sqlite3_stmt *st =
		db_prepare(db, "SELECT k.message, m.raw FROM inbound_key k LEFT JOIN message m ON m.id = k.message "
	                       "WHERE k.key = ?");
	*message_row = 0;
	*raw = NULL;
	*len = 0;
	if (!st)
		return -1;
	db_bind_text(st, 1, key);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*message_row = sqlite3_column_int64(st, 0);
		if (sqlite3_column_type(st, 1) != SQLITE_NULL) {
			const void *b = sqlite3_column_blob(st, 1);
			size_t n = (size_t)sqlite3_column_bytes(st, 1);
			*raw = xmalloc(n + 1);
			if (n)
				memcpy(*raw, b, n);
			(*raw)[n] = '\0';
			*len = n;
		}
	} else if (rc != SQLITE_DONE) {
		db_failed(db, rc, NULL);
	}
	db_release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_cursor_get_text(struct db *db, const char *source, char **position)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT position_text FROM cursor WHERE source = ?");
	*position = NULL;
	if (!st)
		return -1;
	db_bind_text(st, 1, source);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*position = db_col_text(st, 0);
	db_release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_cursor_set_text(struct db *db, const char *source, const char *position)
{
	sqlite3_stmt *st =
		db_prepare(db, "INSERT INTO cursor(source, validity, position, position_text) VALUES (?, 0, 0, ?) "
	                       "ON CONFLICT(source) DO UPDATE SET position_text = excluded.position_text");
	if (!st)
		return -1;
	db_bind_text(st, 1, source);
	db_bind_text(st, 2, position);
	return db_step_done(db, st);
}
