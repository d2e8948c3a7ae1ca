/* db_p.h: private to the store's files (db.c, db_schema.c, db_intake.c,
 * db_conversation.c, db_message.c, db_outbox.c, db_contact.c, db_audit.c,
 * db_purge.c, db_stats.c): the connection and the helpers they share. No
 * other file includes it; callers see only db.h.
 *
 * db.c owns the connection, its statement cache and what a failed statement
 * means (db_failed logs it and tracks a full or failing disk); the other
 * files hold one concern's SQL each and leave all of that to db.c. */
#ifndef RELAY_DB_P_H
#define RELAY_DB_P_H

#include <sqlite3.h>
#include <stddef.h>

#include "db.h"

/* Prepared statements are kept for the connection's life: parsing the SQL
 * again for every row cost a sixth of a backlog's drain. */
#define STATEMENT_CACHE 64

struct statement {
	unsigned hash;
	char *sql;        /* owned */
	sqlite3_stmt *st; /* owned */
	int in_use;
};

struct db {
	sqlite3 *h;
	struct statement cache[STATEMENT_CACHE];
	size_t ncache;
	int lazy;                    /* this transaction commits without waiting for the disk */
	char *path;                  /* owned: named when the disk fails us */
	int disk_trouble;            /* writes fail for want of space or a disk error */
	unsigned long disk_failures; /* how many have failed so */
};

/* db.c */

/* Logs a failed statement (rc: SQLite's code; msg: its text, NULL for the
 * connection's latest); a full or failing disk once, until a commit works. */
void db_failed(struct db *db, int rc, const char *msg);
/* A statement for sql, from the cache when one is free; NULL on failure
 * (logged). Borrowed: hand it back with db_release (reset at once). */
sqlite3_stmt *db_prepare(struct db *db, const char *sql);
void db_release(struct db *db, sqlite3_stmt *st);
/* Binds s as text, or NULL when s is NULL (copied). */
void db_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Column i as a new string (owned), NULL when NULL. */
char *db_col_text(sqlite3_stmt *st, int i);
/* Steps st once, expecting no row; releases it. 0 or -1 (logged). */
int db_step_done(struct db *db, sqlite3_stmt *st);
/* The first column of st's one row as a number (a count), -1 on failure. Releases st. */
int db_single_int(struct db *db, sqlite3_stmt *st);

/* db_schema.c */

/* The schema version db_open brings a database up to (the migrations' count). */
int db_schema_latest(void);
/* Applies the migrations from the database's version up to upto, each in a
 * transaction of its own; refuses a database newer than this relay. 0 or -1
 * with the reason in err. */
int db_migrate(struct db *db, int upto, char *err, size_t errlen);

/* db_conversation.c and db_outbox.c: the columns their row readers expect. */

#define CONVERSATION_COLUMNS                                                                              \
	"id, ref, channel, contact, state, urgent, subject, created_at, last_activity, last_inbound_at, " \
	"last_autoreply_at, last_adviser_reply_at, previous_ref, last_urgent_at, closed_at"

#define OUTBOX_COLUMNS                                                               \
	"id, conversation_id, message, kind, channel, message_id, mail_from, rcpt, " \
	"(SELECT data FROM outbox_data d WHERE d.id = outbox.id), state, attempts, " \
	"next_attempt_at, created_at, last_error, provider_id, delivery, parts"

#endif
