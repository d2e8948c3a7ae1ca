/* db_schema.c: the schema, as the migrations that build it one step at a
 * time, keyed on PRAGMA user_version; a step is never changed once released,
 * a new one is added. */
#include "db_p.h"

#include <stdio.h>
#include <stdlib.h>

#include "util.h"

/* Each step of the schema, applied in order, each in its own transaction. */
static const char *const migrations[] = {
	/* 1: conversations, transcript, outbox, cursors */
	"CREATE TABLE conversation ("
	"  id INTEGER PRIMARY KEY,"
	"  ref TEXT NOT NULL UNIQUE,"
	"  channel TEXT NOT NULL CHECK (channel IN ('email','sms')),"
	"  contact TEXT NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open','closed')),"
	"  urgent INTEGER NOT NULL DEFAULT 0,"
	"  subject TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  last_activity INTEGER NOT NULL,"
	"  last_inbound_at INTEGER NOT NULL DEFAULT 0,"
	"  last_autoreply_at INTEGER NOT NULL DEFAULT 0,"
	"  last_adviser_reply_at INTEGER NOT NULL DEFAULT 0,"
	"  previous_ref TEXT);"
	"CREATE INDEX conversation_by_contact ON conversation(channel, contact, id);"
	"CREATE TABLE message ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation_id INTEGER NOT NULL REFERENCES conversation(id),"
	"  kind TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  at INTEGER NOT NULL,"
	"  message_id TEXT,"
	"  refs TEXT,"
	"  author TEXT,"
	"  subject TEXT,"
	"  body TEXT,"
	"  raw BLOB,"
	"  attachments TEXT,"
	"  detail TEXT);"
	"CREATE INDEX message_by_conversation ON message(conversation_id, id);"
	"CREATE INDEX message_by_message_id ON message(message_id);"
	"CREATE TABLE inbound_key ("
	"  key TEXT PRIMARY KEY,"
	"  message INTEGER REFERENCES message(id)) WITHOUT ROWID;"
	"CREATE TABLE outbox ("
	"  id INTEGER PRIMARY KEY,"
	"  conversation_id INTEGER REFERENCES conversation(id),"
	"  message INTEGER REFERENCES message(id),"
	"  kind TEXT NOT NULL,"
	"  channel TEXT NOT NULL,"
	"  message_id TEXT NOT NULL UNIQUE,"
	"  mail_from TEXT,"
	"  rcpt TEXT NOT NULL,"
	"  data BLOB NOT NULL,"
	"  state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','sent','failed')),"
	"  attempts INTEGER NOT NULL DEFAULT 0,"
	"  next_attempt_at INTEGER NOT NULL,"
	"  last_error TEXT,"
	"  created_at INTEGER NOT NULL,"
	"  sent_at INTEGER);"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt_at);"
	"CREATE INDEX outbox_by_conversation ON outbox(conversation_id, kind, id);"
	"CREATE TABLE cursor ("
	"  source TEXT PRIMARY KEY,"
	"  validity INTEGER NOT NULL,"
	"  position INTEGER NOT NULL);",
	/* 2: text messages: delivery states, provider ids, text cursors, opted-out contacts */
	"ALTER TABLE outbox ADD COLUMN provider_id TEXT;"
	"ALTER TABLE outbox ADD COLUMN delivery TEXT;"
	"ALTER TABLE outbox ADD COLUMN parts INTEGER;"
	"CREATE INDEX outbox_delivery ON outbox(channel, state, delivery);"
	"ALTER TABLE cursor ADD COLUMN position_text TEXT;"
	"CREATE TABLE contact ("
	"  channel TEXT NOT NULL,"
	"  address TEXT NOT NULL,"
	"  opted_out_at INTEGER,"
	"  PRIMARY KEY (channel, address)) WITHOUT ROWID;",
	/* 3: safeguarding policy: urgency, closing, blocking, per-sender limits */
	"ALTER TABLE conversation ADD COLUMN last_urgent_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE conversation ADD COLUMN closed_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE contact ADD COLUMN blocked_until INTEGER;"
	"CREATE INDEX outbox_by_rcpt ON outbox(rcpt, kind, created_at);"
	"CREATE INDEX conversation_by_state ON conversation(state, last_activity);",
	/* 4: alerts about messages that stay undelivered */
	"ALTER TABLE outbox ADD COLUMN alerted_at INTEGER;",
	/* 5: the audit trail (who did what, never what was written) and retention.
	 * The triggers record every transcript entry and every send as it is
	 * committed, so no code path can forget to. */
	"CREATE TABLE audit ("
	"  id INTEGER PRIMARY KEY,"
	"  at INTEGER NOT NULL,"
	"  conversation_id INTEGER,"
	"  actor TEXT NOT NULL,"
	"  action TEXT NOT NULL,"
	"  detail TEXT);"
	"CREATE INDEX audit_by_conversation ON audit(conversation_id, id);"
	"ALTER TABLE conversation ADD COLUMN purged_at INTEGER NOT NULL DEFAULT 0;"
	"ALTER TABLE message ADD COLUMN purged_at INTEGER;"
	"CREATE TRIGGER audit_message AFTER INSERT ON message BEGIN"
	"  INSERT INTO audit(at, conversation_id, actor, action, detail) VALUES (NEW.at, NEW.conversation_id,"
	"    CASE WHEN NEW.kind = 'inbound' THEN 'young person' ELSE coalesce(NEW.author, 'relay') END,"
	"    CASE NEW.kind WHEN 'inbound' THEN 'received' WHEN 'reply' THEN 'replied' WHEN 'held' THEN 'held'"
	"      WHEN 'automatic' THEN 'automatic mail kept' WHEN 'note' THEN 'note'"
	"      WHEN 'command' THEN 'command' ELSE NEW.kind END,"
	/* a command's body is the command itself (#close, #block 7), never message text */
	"    CASE WHEN NEW.kind = 'command' THEN substr(NEW.body, 1, 40) ELSE NEW.channel END);"
	"END;"
	"CREATE TRIGGER audit_outbox AFTER UPDATE OF state ON outbox WHEN NEW.state <> OLD.state BEGIN"
	"  INSERT INTO audit(at, conversation_id, actor, action, detail) VALUES (coalesce(NEW.sent_at,"
	"    CAST(strftime('%s','now') AS INTEGER)), NEW.conversation_id, 'relay', NEW.state || ' ' || NEW.kind,"
	"    NEW.channel || CASE WHEN NEW.attempts > 1 THEN ', attempt ' || NEW.attempts ELSE '' END);"
	"END;",
	/* 6: the complete outgoing message in a table of its own. SQLite rewrites
	 * a whole row to change one column, so marking a forward sent rewrote the
	 * forward, and secure_delete zeroed the old copy: three writes of every
	 * message the relay sent. Now a row's state changes in a few bytes. */
	"CREATE TABLE outbox_data ("
	"  id INTEGER PRIMARY KEY REFERENCES outbox(id),"
	"  data BLOB NOT NULL);"
	"INSERT INTO outbox_data(id, data) SELECT id, data FROM outbox;"
	"ALTER TABLE outbox DROP COLUMN data;",
	/* 7: the indexes hold only the rows they are asked about: what is still
	 * to send, and texts awaiting a delivery report. A sent email left both
	 * (a delete and an insert in each) and stayed in them for good. The
	 * columns stay as they were: SQLite's planner (without statistics)
	 * chose a scan of the whole outbox for a session's due rows when
	 * outbox_due no longer began with state. */
	"DROP INDEX outbox_due;"
	"CREATE INDEX outbox_due ON outbox(state, next_attempt_at) WHERE state = 'pending';"
	"DROP INDEX outbox_delivery;"
	"CREATE INDEX outbox_delivery ON outbox(state, delivery) WHERE channel = 'sms';",
	/* 8: each part's health as the daemon last saw it, for relay status and
	 * so that an incident's alerts survive a restart (one row per part, and
	 * "relay" for the daemon itself: started, last written, alerts sent). */
	"CREATE TABLE health ("
	"  part TEXT PRIMARY KEY,"
	"  state TEXT NOT NULL,"
	"  last_ok INTEGER NOT NULL DEFAULT 0,"
	"  failing_since INTEGER NOT NULL DEFAULT 0,"
	"  reason TEXT,"
	"  alerted_at INTEGER NOT NULL DEFAULT 0,"
	"  reminded_at INTEGER NOT NULL DEFAULT 0,"
	"  alerts INTEGER NOT NULL DEFAULT 0,"
	"  updated_at INTEGER NOT NULL) WITHOUT ROWID;",
};

#define NMIGRATIONS ((int)(sizeof migrations / sizeof migrations[0]))

int db_schema_version(struct db *db)
{
	sqlite3_stmt *st;
	int v = -1;
	if (sqlite3_prepare_v2(db->h, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

int db_migrate(struct db *db, int upto, char *err, size_t errlen)
{
	int v = db_schema_version(db);
	if (v < 0) {
		snprintf(err, errlen, "cannot read schema version: %s", db_error(db));
		return -1;
	}
	if (v > NMIGRATIONS) {
		snprintf(err, errlen,
		         "database schema version %d is newer than this relay knows (%d): "
		         "run the newer relay or restore a backup",
		         v, NMIGRATIONS);
		return -1;
	}
	for (; v < upto; v++) {
		char *sql = xasprintf("BEGIN IMMEDIATE; %s PRAGMA user_version = %d; COMMIT;", migrations[v], v + 1);
		char *msg = NULL;
		int rc = sqlite3_exec(db->h, sql, NULL, NULL, &msg);
		free(sql);
		if (rc != SQLITE_OK) {
			snprintf(err, errlen, "schema migration %d failed: %s", v + 1, msg ? msg : db_error(db));
			sqlite3_free(msg);
			sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
			return -1;
		}
	}
	return 0;
}

/* The version that db_open brings a database up to. */
int db_schema_latest(void)
{
	return NMIGRATIONS;
}
