/* db_audit.c: the audit trail: who did what to a conversation, never what
 * was written. Transcript entries and sends are recorded by the schema's
 * triggers (db_schema.c); these calls record the rest and read it back. */
#include "db_p.h"


int db_audit(struct db *db, long long at, long long conversation_id, const char *actor, const char *action,
             const char *detail)
{
	sqlite3_stmt *st =
		db_prepare(db, "INSERT INTO audit(at, conversation_id, actor, action, detail) VALUES (?, ?, ?, ?, ?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, at);
	if (conversation_id)
		sqlite3_bind_int64(st, 2, conversation_id);
	else
		sqlite3_bind_null(st, 2);
	db_bind_text(st, 3, actor);
	db_bind_text(st, 4, action);
	db_bind_text(st, 5, detail);
	return db_step_done(db, st);
}

int db_audit_for(struct db *db, long long conversation_id, db_audit_cb cb, void *arg)
{
	sqlite3_stmt *st =
		db_prepare(db, "SELECT at, actor, action, detail FROM audit WHERE conversation_id = ? ORDER BY id");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW)
		cb(arg, sqlite3_column_int64(st, 0), (const char *)sqlite3_column_text(st, 1),
		   (const char *)sqlite3_column_text(st, 2), (const char *)sqlite3_column_text(st, 3));
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}
