/* db_purge.c: retention: which closed conversations are due for purging,
 * and removing a conversation's text while keeping what statistics need. */
#include "db_p.h"

#include <stdlib.h>

#include "util.h"

int db_purge_candidates(struct db *db, long long closed_before, long long **ids, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id FROM conversation WHERE state = 'closed' AND closed_at > 0 AND "
	                                  "closed_at < ? AND purged_at = 0 ORDER BY id");
	size_t cap = 0;
	int rc;
	*ids = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, closed_before);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			*ids = xrealloc(*ids, cap * sizeof **ids);
		}
		(*ids)[(*n)++] = sqlite3_column_int64(st, 0);
	}
	db_release(db, st);
	if (rc != SQLITE_DONE) {
		free(*ids);
		*ids = NULL;
		*n = 0;
		return -1;
	}
	return 0;
}

int db_purge_conversation(struct db *db, long long id, long long now, const char *actor)
{
	static const char *const steps[] = {
		("UPDATE message SET subject = NULL, body = NULL, raw = NULL, attachments = NULL, detail = NULL, "
		 "refs = NULL, purged_at = ?2 WHERE conversation_id = ?1 AND purged_at IS NULL"),
		/* what was sent carried the same words, and a young person's address */
		"DELETE FROM outbox_data WHERE id IN (SELECT id FROM outbox WHERE conversation_id = ?1 AND state <> 'pending')",
		"UPDATE outbox SET rcpt = '', last_error = NULL WHERE conversation_id = ?1 AND state <> 'pending'",
		"UPDATE conversation SET contact = '', subject = NULL, purged_at = ?2 WHERE id = ?1",
	};
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		sqlite3_stmt *st = db_prepare(db, steps[i]);
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, now);
		if (db_step_done(db, st) < 0)
			return -1;
	}
	return db_audit(db, now, id, actor, "purged", "text removed after the retention period");
}
