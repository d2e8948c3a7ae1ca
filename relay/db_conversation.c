/* db_conversation.c: conversations: lookups, creating one, its state and
 * times, closing the inactive ones, and the listing for relay list. */
#include "db_p.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

static void conversation_read(sqlite3_stmt *st, struct conversation *c)
{
	c->id = sqlite3_column_int64(st, 0);
	c->ref = db_col_text(st, 1);
	c->channel = channel_from_stored((const char *)sqlite3_column_text(st, 2));
	c->contact = db_col_text(st, 3);
	c->state = conversation_state_from_stored((const char *)sqlite3_column_text(st, 4));
	c->urgent = sqlite3_column_int(st, 5);
	c->subject = db_col_text(st, 6);
	c->created_at = sqlite3_column_int64(st, 7);
	c->last_activity = sqlite3_column_int64(st, 8);
	c->last_inbound_at = sqlite3_column_int64(st, 9);
	c->last_autoreply_at = sqlite3_column_int64(st, 10);
	c->last_adviser_reply_at = sqlite3_column_int64(st, 11);
	c->previous_ref = db_col_text(st, 12);
	c->last_urgent_at = sqlite3_column_int64(st, 13);
	c->closed_at = sqlite3_column_int64(st, 14);
}

static int conversation_one(struct db *db, sqlite3_stmt *st, struct conversation *c)
{
	int rc = sqlite3_step(st);
	memset(c, 0, sizeof *c);
	if (rc == SQLITE_ROW)
		conversation_read(st, c);
	else if (rc != SQLITE_DONE)
		db_failed(db, rc, NULL);
	db_release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_conversation_by_id(struct db *db, long long id, struct conversation *c)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " CONVERSATION_COLUMNS " FROM conversation WHERE id = ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	return conversation_one(db, st, c);
}

int db_conversation_by_ref(struct db *db, const char *ref, struct conversation *c)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " CONVERSATION_COLUMNS " FROM conversation WHERE ref = ? COLLATE NOCASE");
	if (!st)
		return -1;
	db_bind_text(st, 1, ref);
	return conversation_one(db, st, c);
}

int db_conversation_latest_for(struct db *db, enum channel channel, const char *contact, struct conversation *c)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT " CONVERSATION_COLUMNS " FROM conversation "
	                                  "WHERE channel = ? AND contact = ? ORDER BY id DESC LIMIT 1");
	if (!st)
		return -1;
	db_bind_text(st, 1, channel_stored(channel));
	db_bind_text(st, 2, contact);
	return conversation_one(db, st, c);
}

int db_conversation_by_message_id(struct db *db, const char *message_id, long long *conversation_id, enum message_kind *kind)
{
	/* Our own ids are unique (outbox.message_id); a received message's id
	 * is the sender's choice and may be shared by messages of several
	 * conversations: then it names none of them. */
	sqlite3_stmt *st = db_prepare(db, "SELECT conversation_id, kind FROM ("
	                                  "  SELECT 0 AS mine, id, conversation_id, kind FROM outbox WHERE message_id = ?1"
	                                  "  UNION ALL"
	                                  "  SELECT 1, id, conversation_id, kind FROM message WHERE message_id = ?1"
	                                  "    AND NOT EXISTS (SELECT 1 FROM message x WHERE x.message_id = ?1"
	                                  "                    AND x.conversation_id <> message.conversation_id))"
	                                  " ORDER BY mine, id LIMIT 1");
	if (!st)
		return -1;
	db_bind_text(st, 1, message_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*conversation_id = sqlite3_column_int64(st, 0);
		if (kind)
			*kind = kind_from_stored((const char *)sqlite3_column_text(st, 1));
	} else if (rc != SQLITE_DONE) {
		db_failed(db, rc, NULL);
	}
	db_release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_conversation_create(struct db *db, struct conversation *c)
{
	sqlite3_stmt *st = db_prepare(db, "INSERT INTO conversation(ref, channel, contact, state, urgent, subject, "
	                                  "created_at, last_activity, previous_ref) VALUES (?, ?, ?, 'open', ?, ?, ?, ?, ?) "
	                                  "ON CONFLICT(ref) DO NOTHING");
	if (!st)
		return -1;
	db_bind_text(st, 1, c->ref);
	db_bind_text(st, 2, channel_stored(c->channel));
	db_bind_text(st, 3, c->contact);
	sqlite3_bind_int(st, 4, c->urgent);
	db_bind_text(st, 5, c->subject);
	sqlite3_bind_int64(st, 6, c->created_at);
	sqlite3_bind_int64(st, 7, c->last_activity);
	db_bind_text(st, 8, c->previous_ref);
	if (db_step_done(db, st) < 0)
		return -1;
	if (sqlite3_changes(db->h) == 0)
		return 1;
	c->id = sqlite3_last_insert_rowid(db->h);
	c->state = CONVERSATION_OPEN;
	return 0;
}

int db_conversation_update(struct db *db, const struct conversation *c)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE conversation SET state = ?, urgent = ?, subject = ?, last_activity = ?, "
	                                  "last_inbound_at = ?, last_autoreply_at = ?, last_adviser_reply_at = ?, "
	                                  "last_urgent_at = ?, closed_at = ? WHERE id = ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, conversation_state_stored(c->state));
	sqlite3_bind_int(st, 2, c->urgent);
	db_bind_text(st, 3, c->subject);
	sqlite3_bind_int64(st, 4, c->last_activity);
	sqlite3_bind_int64(st, 5, c->last_inbound_at);
	sqlite3_bind_int64(st, 6, c->last_autoreply_at);
	sqlite3_bind_int64(st, 7, c->last_adviser_reply_at);
	sqlite3_bind_int64(st, 8, c->last_urgent_at);
	sqlite3_bind_int64(st, 9, c->closed_at);
	sqlite3_bind_int64(st, 10, c->id);
	return db_step_done(db, st);
}

void conversation_free(struct conversation *c)
{
	if (!c)
		return;
	free(c->ref);
	free(c->contact);
	free(c->subject);
	free(c->previous_ref);
	memset(c, 0, sizeof *c);
}

int db_list_conversations(struct db *db, enum db_list_filter filter, long long now, db_conversation_cb cb, void *arg)
{
	static const char *const where[] = { "", "WHERE state = 'open' ", "WHERE state = 'open' AND urgent " };
	char *sql = xasprintf("SELECT " CONVERSATION_COLUMNS ", (SELECT count(*) FROM message m WHERE "
	                      "m.conversation_id = conversation.id), "
	                      "EXISTS (SELECT 1 FROM contact k WHERE k.channel = conversation.channel AND "
	                      "k.address = conversation.contact AND k.blocked_until > ?1), "
	                      "EXISTS (SELECT 1 FROM contact k WHERE k.channel = conversation.channel AND "
	                      "k.address = conversation.contact AND k.opted_out_at IS NOT NULL), "
	                      "(SELECT count(*) FROM message m WHERE m.conversation_id = conversation.id AND "
	                      "m.kind = 'setaside') "
	                      "FROM conversation %sORDER BY last_activity DESC, id DESC",
	                      where[filter]);
	sqlite3_stmt *st = db_prepare(db, sql);
	int rc;
	free(sql);
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct conversation c;
		struct conversation_summary s = { sqlite3_column_int(st, 15), sqlite3_column_int(st, 16),
			                          sqlite3_column_int(st, 17), sqlite3_column_int(st, 18) };
		conversation_read(st, &c);
		cb(arg, &c, &s);
		conversation_free(&c);
	}
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}

int db_close_inactive(struct db *db, long long before, long long now)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE conversation SET state = 'closed', closed_at = ? "
	                                  "WHERE state = 'open' AND last_activity < ?");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, now);
	sqlite3_bind_int64(st, 2, before);
	if (db_step_done(db, st) < 0)
		return -1;
	int n = sqlite3_changes(db->h);
	if (n > 0) {
		st = db_prepare(db, "INSERT INTO audit(at, conversation_id, actor, action, detail) SELECT ?, id, 'relay', "
		                    "'closed', 'no activity' FROM conversation WHERE state = 'closed' AND closed_at = ? "
		                    "AND last_activity < ?");
		if (!st)
			return -1;
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_int64(st, 2, now);
		sqlite3_bind_int64(st, 3, before);
		if (db_step_done(db, st) < 0)
			return -1;
	}
	return n;
}

int db_conversation_set_previous(struct db *db, long long id, const char *previous_ref)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE conversation SET previous_ref = ? WHERE id = ?");
	if (!st)
		return -1;
	db_bind_text(st, 1, previous_ref);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st);
}
