/* db_contact.c: contacts who opted out (STOP) or whom an adviser blocked. */
#include "db_p.h"


int db_contact_opted_out(struct db *db, enum channel channel, const char *address)
{
	sqlite3_stmt *st =
		db_prepare(db, "SELECT 1 FROM contact WHERE channel = ? AND address = ? AND opted_out_at IS NOT NULL");
	if (!st)
		return -1;
	db_bind_text(st, 1, channel_stored(channel));
	db_bind_text(st, 2, address);
	int rc = sqlite3_step(st);
	db_release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_contact_set_opted_out(struct db *db, enum channel channel, const char *address, long long at)
{
	sqlite3_stmt *st =
		db_prepare(db, "INSERT INTO contact(channel, address, opted_out_at) VALUES (?, ?, ?) "
	                       "ON CONFLICT(channel, address) DO UPDATE SET opted_out_at = excluded.opted_out_at");
	if (!st)
		return -1;
	db_bind_text(st, 1, channel_stored(channel));
	db_bind_text(st, 2, address);
	if (at)
		sqlite3_bind_int64(st, 3, at);
	else
		sqlite3_bind_null(st, 3);
	return db_step_done(db, st);
}

int db_contact_blocked(struct db *db, enum channel channel, const char *address, long long now)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT 1 FROM contact WHERE channel = ? AND address = ? AND blocked_until > ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, channel_stored(channel));
	db_bind_text(st, 2, address);
	sqlite3_bind_int64(st, 3, now);
	int rc = sqlite3_step(st);
	db_release(db, st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int db_contact_set_blocked(struct db *db, enum channel channel, const char *address, long long until)
{
	sqlite3_stmt *st =
		db_prepare(db, "INSERT INTO contact(channel, address, blocked_until) VALUES (?, ?, ?) "
	                       "ON CONFLICT(channel, address) DO UPDATE SET blocked_until = excluded.blocked_until");
	if (!st)
		return -1;
	db_bind_text(st, 1, channel_stored(channel));
	db_bind_text(st, 2, address);
	if (until)
		sqlite3_bind_int64(st, 3, until);
	else
		sqlite3_bind_null(st, 3);
	return db_step_done(db, st);
}
