/* db_message.c: a conversation's transcript: adding an entry, reading it
 * back (relay show), the latest inbound ids for threading, and set-aside
 * messages for relay retry. */
#include "db_p.h"

#include <stdlib.h>
#include <string.h>

#include "util.h"

int db_message_add(struct db *db, const struct message_row *m, long long *id)
{
	sqlite3_stmt *st =
		db_prepare(db, "INSERT INTO message(conversation_id, kind, channel, at, message_id, refs, author, "
	                       "subject, body, raw, attachments, detail) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)");
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, m->conversation_id);
	db_bind_text(st, 2, kind_stored(m->kind));
	db_bind_text(st, 3, channel_stored(m->channel));
	sqlite3_bind_int64(st, 4, m->at);
	db_bind_text(st, 5, m->message_id);
	db_bind_text(st, 6, m->refs);
	db_bind_text(st, 7, m->author);
	db_bind_text(st, 8, m->subject);
	db_bind_text(st, 9, m->body);
	if (m->raw)
		sqlite3_bind_blob64(st, 10, m->raw, m->raw_len, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, 10);
	db_bind_text(st, 11, m->attachments);
	db_bind_text(st, 12, m->detail);
	if (db_step_done(db, st) < 0)
		return -1;
	if (id)
		*id = sqlite3_last_insert_rowid(db->h);
	return 0;
}

int db_last_inbound_ids(struct db *db, long long conversation_id, char **message_id, char ***refs, size_t *nrefs)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT message_id, refs FROM message WHERE conversation_id = ? AND "
	                                  "kind = 'inbound' AND message_id IS NOT NULL ORDER BY id DESC LIMIT 1");
	*message_id = NULL;
	*refs = NULL;
	*nrefs = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*message_id = db_col_text(st, 0);
		char *r = db_col_text(st, 1), *save = NULL;
		for (char *tok = r ? strtok_r(r, " ", &save) : NULL; tok; tok = strtok_r(NULL, " ", &save)) {
			*refs = xrealloc(*refs, (*nrefs + 1) * sizeof **refs);
			(*refs)[(*nrefs)++] = xstrdup(tok);
		}
		free(r);
	}
	db_release(db, st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? 1 : -1;
}

int db_set_aside_list(struct db *db, long long conversation_id, struct set_aside **out, size_t *n)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, channel, raw FROM message WHERE conversation_id = ? AND "
	                                  "kind = 'setaside' ORDER BY id");
	struct set_aside *a = NULL;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *raw = sqlite3_column_blob(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		a = xrealloc(a, (k + 1) * sizeof *a);
		a[k].id = sqlite3_column_int64(st, 0);
		a[k].channel = channel_from_stored((const char *)sqlite3_column_text(st, 1));
		a[k].raw = xmalloc(len + 1);
		if (len)
			memcpy(a[k].raw, raw, len);
		a[k].raw[len] = '\0';
		a[k].len = len;
		k++;
	}
	db_release(db, st);
	if (rc != SQLITE_DONE) {
		db_set_aside_free(a, k);
		return -1;
	}
	*out = a;
	*n = k;
	return 0;
}

void db_set_aside_free(struct set_aside *a, size_t n)
{
	for (size_t i = 0; a && i < n; i++) {
		free(a[i].raw);
	}
	free(a);
}

int db_set_aside_done(struct db *db, long long id, const char *note)
{
	sqlite3_stmt *st = db_prepare(db, "UPDATE message SET kind = 'retried', detail = coalesce(detail || '; ', '') || ? "
	                                  "WHERE id = ? AND kind = 'setaside'");
	if (!st)
		return -1;
	sqlite3_bind_text(st, 1, note, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, id);
	return db_step_done(db, st);
}

int db_transcript(struct db *db, long long conversation_id, db_transcript_cb cb, void *arg)
{
	sqlite3_stmt *st = db_prepare(db, "SELECT id, kind, channel, at, message_id, author, subject, body, attachments, "
	                                  "detail, purged_at FROM message WHERE conversation_id = ? ORDER BY id");
	int rc;
	if (!st)
		return -1;
	sqlite3_bind_int64(st, 1, conversation_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct message_row m;
		memset(&m, 0, sizeof m);
		m.id = sqlite3_column_int64(st, 0);
		m.conversation_id = conversation_id;
		m.kind = kind_from_stored((const char *)sqlite3_column_text(st, 1));
		m.channel = channel_from_stored((const char *)sqlite3_column_text(st, 2));
		m.at = sqlite3_column_int64(st, 3);
		m.message_id = (const char *)sqlite3_column_text(st, 4);
		m.author = (const char *)sqlite3_column_text(st, 5);
		m.subject = (const char *)sqlite3_column_text(st, 6);
		m.body = (const char *)sqlite3_column_text(st, 7);
		m.attachments = (const char *)sqlite3_column_text(st, 8);
		m.detail = (const char *)sqlite3_column_text(st, 9);
		m.purged_at = sqlite3_column_int64(st, 10);
		cb(arg, &m);
	}
	db_release(db, st);
	return rc == SQLITE_DONE ? 0 : -1;
}
