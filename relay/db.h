/* db.h: the relay's store (SQLite): conversations, their transcript, the
 * outbox and the poll cursors. Only the store's own files see sqlite3 types:
 * db.c (the connection, transactions, savepoints, what a failure means),
 * db_schema.c (migrations), db_intake.c (cursors, de-duplication keys),
 * db_conversation.c, db_message.c (the transcript), db_outbox.c,
 * db_contact.c, db_audit.c, db_purge.c (retention) and db_stats.c (stats
 * and health), sharing the private db_p.h. The store decides nothing about
 * the service: it keeps what callers tell it and answers their questions.
 *
 * Return values mean one thing across the db_* calls:
 *    0  done: found, added, changed (a change that matched no row is done too);
 *    1  none: what was looked up is not there, or nothing was done because it
 *       is already there (a duplicate); each call says which;
 *   -1  error, already logged (db_error has SQLite's words).
 * Three kinds of call answer otherwise, and say so: questions (is this key
 * known, this contact opted out, blocked?) answer 1 yes, 0 no, -1 error;
 * counts answer the count, or -1; db_has_room answers 1 or 0.
 *
 * Write transactions are BEGIN IMMEDIATE; commits are synchronous=FULL
 * because a commit is what lets the relay acknowledge upstream (\Seen). */
#ifndef RELAY_DB_H
#define RELAY_DB_H

#include <stddef.h>

#include "domain.h"

struct db;

struct conversation {
	long long id;
	char *ref; /* owned, "RUS-7K3F2" */
	enum channel channel;
	char *contact; /* owned: address or E.164 number (routing only, never logged) */
	enum conversation_state state;
	int urgent;
	char *subject; /* owned: the young person's latest subject (email), may be NULL */
	long long created_at;
	long long last_activity;
	long long last_inbound_at;
	long long last_autoreply_at;     /* 0: never */
	long long last_adviser_reply_at; /* 0: never */
	char *previous_ref;              /* owned, may be NULL */
	long long last_urgent_at;        /* urgent signposting last sent, 0: never */
	long long closed_at;             /* 0 while open */
};

/* A transcript entry: a young person's message, an adviser's reply as sent,
 * a held reply, automatic mail, a note or command, a set-aside message
 * (received, could not be handled: raw kept, the reason in detail; see
 * intake.h) or a retried one (domain.h lists the kinds). */
struct message_row {
	long long id;
	long long conversation_id;
	enum message_kind kind;
	enum channel channel;
	long long at;
	const char *message_id; /* RFC 5322 id without <>, may be NULL */
	const char *refs;       /* its References ids, space-separated, may be NULL */
	const char *author;     /* adviser address, may be NULL */
	const char *subject;
	const char *body;
	const char *raw; /* raw source, may be NULL */
	size_t raw_len;
	const char *attachments; /* "name (type, N bytes)" lines, may be NULL */
	const char *detail;      /* e.g. why held, may be NULL */
	long long purged_at;     /* its text was removed at this time (retention), 0: kept */
};

/* Something to send, as the database gives it back: KIND_FORWARD,
 * KIND_AUTOREPLY, KIND_REPLY, KIND_RECEIPT or KIND_NOTICE. */
struct outbox_row {
	long long id;
	long long conversation_id;
	long long message_row; /* transcript row it carries, 0 for none */
	enum message_kind kind;
	enum channel channel;
	char *message_id; /* owned when returned by db: our stable id, idempotency key */
	char *mail_from;  /* owned when returned by db */
	char *rcpt;       /* owned when returned by db: recipients, one per line */
	char *data;       /* owned when returned by db: the complete message */
	size_t len;
	enum outbox_state state;
	int attempts;
	long long next_attempt_at;
	long long created_at;
	char *last_error;  /* owned when returned by db, may be NULL */
	char *provider_id; /* owned when returned by db: the SMS gateway's id, may be NULL */
	char *delivery;    /* owned when returned by db: SMS delivery state, may be NULL */
	int parts;         /* SMS parts, 0 for email */
};

/* 0, *out owned (db_close); -1 with the reason in err. */
int db_open(const char *path, struct db **out, char *err, size_t errlen);
/* As db_open, with the schema brought only up to version (tests of upgrades). */
int db_open_at(const char *path, int version, struct db **out, char *err, size_t errlen);
void db_close(struct db *db);
const char *db_error(struct db *db);      /* the last SQLite error text */
const char *db_path(const struct db *db); /* as given to db_open; borrowed */
int db_schema_version(struct db *db);     /* the schema's version, -1 on error */

int db_begin(struct db *db);  /* BEGIN IMMEDIATE; 0 or -1 */
int db_commit(struct db *db); /* 0 or -1 (the caller then rolls back) */
void db_rollback(struct db *db);

/* One message's work inside the caller's transaction, undone alone when it
 * fails (the intake: one message's failure never undoes the others).
 * db_savepoint_undo goes back to the savepoint and ends it; -1 when the
 * whole transaction is already gone (SQLite ends it on a full disk, an I/O
 * error, no memory): the caller then rolls back and gives up the batch.
 * Each: 0 or -1. */
int db_savepoint(struct db *db);
int db_savepoint_release(struct db *db);
int db_savepoint_undo(struct db *db);

/* A full disk (or a failing one) is logged once, naming the database file,
 * until a commit works again; db.c logs both ends, callers add nothing.
 * db_disk_failures counts the statements that failed so: a step that saw it
 * rise failed because of the disk, which is already reported. db_has_room is 1
 * when writes work; after such a failure it tries a small write first, so that
 * nothing is sent whose outcome could not be recorded. */
unsigned long db_disk_failures(struct db *db);
int db_has_room(struct db *db);

/* Begins a transaction whose commit does not wait for the disk (synchronous
 * = NORMAL for it alone): it survives the relay being killed, not a power
 * cut. Only for records whose loss repeats work already done (an outbox row
 * marked sent is at worst sent again, with the same Message-ID), never for
 * what is then acknowledged to a server. db_commit or db_rollback ends it;
 * the next durable commit carries it to the disk as well. 0 or -1. */
int db_begin_lazy(struct db *db);

/* A set-aside message of a conversation (KIND_SETASIDE), for `relay
 * retry`: raw is the email's source or the text's body as received. */
struct set_aside {
	long long id;
	enum channel channel;
	char *raw; /* owned, NUL-terminated, may hold NULs before len */
	size_t len;
};
/* Oldest first; *out owned (db_set_aside_free). 0 or -1. */
int db_set_aside_list(struct db *db, long long conversation_id, struct set_aside **out, size_t *n);
void db_set_aside_free(struct set_aside *a, size_t n);
/* Marks a set-aside message handed back: KIND_RETRIED, note added to its detail. 0 or -1. */
int db_set_aside_done(struct db *db, long long id, const char *note);

/* Poll cursors: get: 0 found, 1 none yet, -1 error; set: 0 or -1. */
int db_cursor_get(struct db *db, const char *source, long long *validity, long long *position);
int db_cursor_set(struct db *db, const char *source, long long validity, long long position);

/* Text cursors (SMS gateways): get: 0 found (*position owned, may be NULL), 1 none, -1 error;
 * set: 0 or -1. */
int db_cursor_get_text(struct db *db, const char *source, char **position);
int db_cursor_set_text(struct db *db, const char *source, const char *position);

/* Contacts who texted STOP (or whom the gateway reports as opted out): a
 * question, 1 yes, 0 no, -1 error. Setting: 0 or -1; at = 0 clears the
 * opt-out (START). */
int db_contact_opted_out(struct db *db, enum channel channel, const char *address);
int db_contact_set_opted_out(struct db *db, enum channel channel, const char *address, long long at);

/* Contacts an adviser blocked (#block): a question, 1 while blocked at now,
 * 0 not, -1 error. Setting: 0 or -1; until = 0 unblocks; a far-future time
 * blocks indefinitely. */
int db_contact_blocked(struct db *db, enum channel channel, const char *address, long long now);
int db_contact_set_blocked(struct db *db, enum channel channel, const char *address, long long until);

/* Outbox rows of kind to rcpt created since `since` (per-sender auto-reply limit): a count, -1 on error. */
int db_outbox_recent(struct db *db, const char *rcpt, enum message_kind kind, long long since);

/* Pending outbox rows created at or before created_before that nobody has
 * been alerted about yet (*rows owned: outbox_rows_free); and marking one
 * alerted. 0 or -1. */
int db_outbox_stale(struct db *db, long long created_before, int limit, struct outbox_row **rows, size_t *n);
int db_outbox_mark_alerted(struct db *db, long long id, long long at);

/* Closes open conversations with no activity since `before`: a count, how many, or -1. */
int db_close_inactive(struct db *db, long long before, long long now);

/* SMS delivery tracking: sent texts whose delivery is not yet final, created
 * since `since` (*rows owned: outbox_rows_free). 0 or -1. */
int db_outbox_set_delivery(struct db *db, long long id, const char *provider_id, const char *delivery);
int db_outbox_awaiting_delivery(struct db *db, long long since, int limit, struct outbox_row **rows, size_t *n);

/* Inbound de-duplication keys. db_inbound_known is a question: 1 when key is
 * known (a duplicate), 0 when not, -1 error. db_inbound_add: 0 added, 1 when
 * the key was there already (kept as it was), -1 error. */
int db_inbound_known(struct db *db, const char *key);
int db_inbound_add(struct db *db, const char *key, long long message_row);
/* The transcript row a key was added with (0: none) and that row's raw
 * source (*raw owned, NUL-terminated after *len bytes; NULL when there is
 * no row or its text was purged). 0 when the key is known, 1 when not, -1
 * on error. */
int db_inbound_message(struct db *db, const char *key, long long *message_row, char **raw, size_t *len);

/* Conversations. Lookups: 0 found (*c filled, free with conversation_free),
 * 1 not found, -1 error. */
int db_conversation_by_id(struct db *db, long long id, struct conversation *c);
int db_conversation_by_ref(struct db *db, const char *ref, struct conversation *c);
int db_conversation_latest_for(struct db *db, enum channel channel, const char *contact, struct conversation *c);
/* The conversation that a Message-ID we stored or sent belongs to. *kind
 * (when kind is not NULL) gets the row's kind: an outbox kind for one of our
 * ids, a transcript kind for a received one.
 * One of our own ids first; else the earliest transcript row with that id,
 * but only when every row with it is in the same conversation: an id that
 * senders reused in two conversations names neither (1). */
int db_conversation_by_message_id(struct db *db, const char *message_id, long long *conversation_id,
                                  enum message_kind *kind);
/* Creates: 0 done (c->id set), 1 when ref already exists (a duplicate: the
 * caller picks another), -1 error. Update and set_previous: 0 or -1. */
int db_conversation_create(struct db *db, struct conversation *c);
int db_conversation_update(struct db *db, const struct conversation *c);
int db_conversation_set_previous(struct db *db, long long id, const char *previous_ref);
void conversation_free(struct conversation *c);

/* Adds a transcript entry; *id (when not NULL) its row. 0 or -1. */
int db_message_add(struct db *db, const struct message_row *m, long long *id);

/* Something to queue: all borrowed, read only. A new row is pending, with no
 * attempts yet. */
struct outbox_new {
	long long conversation_id; /* 0: none (a notice about no conversation) */
	long long message_row;     /* transcript row it carries, 0 for none */
	enum message_kind kind;
	enum channel channel;
	const char *message_id; /* our stable id, idempotency key */
	const char *mail_from;  /* NULL for a text */
	const char *rcpt;       /* recipients, one per line; a text's number */
	const char *data;       /* the complete message, or a text's words */
	size_t len;
	long long next_attempt_at;
	long long created_at;
	int parts; /* SMS parts, 0 for email */
};

/* Adds a pending row and its message; *id (when not NULL) its row. 0 or -1. */
int db_outbox_add(struct db *db, const struct outbox_new *o, long long *id);
/* Pending rows due at now, oldest first, at most limit. Free with outbox_rows_free. 0 or -1. */
int db_outbox_due(struct db *db, long long now, int limit, struct outbox_row **rows, size_t *n);
/* The same, emails only, and no more once their messages reach max_bytes
 * (0: no bound; one at least). */
int db_outbox_due_emails(struct db *db, long long now, int limit, size_t max_bytes, struct outbox_row **rows, size_t *n);
int db_outbox_pending_count(struct db *db); /* a count, -1 on error */
/* An email the SMTP server took, from a receipt (receipts.h): marked sent,
 * with one attempt more, unless its outcome is already recorded (or row id
 * does not carry that Message-ID). Returns 0
 * when marked, 1 when none was (it was not pending), -1 on error. */
int db_outbox_mark_received(struct db *db, long long id, const char *message_id, long long sent_at);
/* A send's outcome: state, attempts, next try, error, sent time. 0 or -1. */
int db_outbox_mark(struct db *db, long long id, enum outbox_state state, int attempts, long long next_attempt_at,
                   const char *last_error, long long sent_at);
/* Records why a pending message waits, leaving its attempts and schedule alone. 0 or -1. */
int db_outbox_set_error(struct db *db, long long id, const char *error);
/* Our Message-IDs of one kind in a conversation, oldest first (for
 * threading); *ids owned (strings_free). 0 or -1. */
int db_outbox_message_ids(struct db *db, long long conversation_id, enum message_kind kind, char ***ids, size_t *n);
void outbox_rows_free(struct outbox_row *rows, size_t n);
void outbox_row_clear(struct outbox_row *o); /* frees what one row owns */
void strings_free(char **s, size_t n);

/* The latest inbound message's Message-ID and References chain in a conversation (threading the
 * relayed reply on the young person's own messages). Owned outputs; 0 found,
 * 1 when none, -1 on error. */
int db_last_inbound_ids(struct db *db, long long conversation_id, char **message_id, char ***refs, size_t *nrefs);

/* ---- the service's own tools (relay list, show, close, stats, purge) -------
 * Callbacks get plain values valid during the call; each call returns 0
 * when it read every row, -1 on error. */

enum db_list_filter { DB_LIST_ALL, DB_LIST_OPEN, DB_LIST_URGENT };

/* What a listing shows beside the conversation itself. */
struct conversation_summary {
	int messages;  /* transcript entries */
	int blocked;   /* the contact is blocked now */
	int opted_out; /* the number sent STOP */
	int set_aside; /* received messages that could not be handled (KIND_SETASIDE) */
};
typedef void (*db_conversation_cb)(void *arg, const struct conversation *c, const struct conversation_summary *s);
/* Newest activity first; DB_LIST_URGENT lists urgent conversations that are open. */
int db_list_conversations(struct db *db, enum db_list_filter filter, long long now, db_conversation_cb cb, void *arg);

/* The audit trail: who did what to a conversation (0: the service as a
 * whole), never message text. Transcript entries and sends are recorded by
 * triggers; callers record what has no row of its own (purge, export).
 * 0 or -1. */
int db_audit(struct db *db, long long at, long long conversation_id, const char *actor, const char *action,
             const char *detail);
typedef void (*db_audit_cb)(void *arg, long long at, const char *actor, const char *action, const char *detail);
int db_audit_for(struct db *db, long long conversation_id, db_audit_cb cb, void *arg);

/* Retention: conversations closed before closed_before whose text is still
 * kept; *ids owned (free). 0 or -1. */
int db_purge_candidates(struct db *db, long long closed_before, long long **ids, size_t *n);
/* Removes a conversation's text — message bodies, subjects, raw sources,
 * attachment names, notes, the contact and the outgoing messages' content —
 * keeping kinds, channels and times for statistics; records "purged" by actor.
 * Runs in the caller's transaction (secure_delete overwrites the freed space).
 * 0 or -1. */
int db_purge_conversation(struct db *db, long long id, long long now, const char *actor);
/* Copies the write-ahead log into the database and empties it, so removed
 * text is in no file. 0 done, 1 none (a reader kept it from finishing), -1 error. */
int db_checkpoint(struct db *db);

/* Statistics since a time: each inbound message, adviser reply and
 * auto-reply (KIND_INBOUND, KIND_REPLY, KIND_AUTOREPLY), then each conversation
 * started since with its first message and first adviser reply (0: none). */
typedef void (*db_stats_message_cb)(void *arg, enum message_kind kind, enum channel channel, long long at);
int db_stats_messages(struct db *db, long long since, db_stats_message_cb cb, void *arg);
typedef void (*db_stats_conversation_cb)(void *arg, int urgent, long long first_inbound, long long first_reply);
int db_stats_conversations(struct db *db, long long since, db_stats_conversation_cb cb, void *arg);
int db_count_open(struct db *db); /* open conversations now, -1 on error */
typedef void (*db_transcript_cb)(void *arg, const struct message_row *m);
int db_transcript(struct db *db, long long conversation_id, db_transcript_cb cb, void *arg);
typedef void (*db_outbox_cb)(void *arg, const struct outbox_row *o);
int db_outbox_for(struct db *db, long long conversation_id, db_outbox_cb cb, void *arg);

/* ---- health (relay status) ------------------------------------------------ */

/* One part's health as the daemon last wrote it (health.h says what each
 * means); part "relay" is the daemon itself: last_ok its start, alerts the
 * alerts it has sent, updated_at its latest write. Strings borrowed. */
struct db_health {
	const char *part;
	const char *state; /* "ok", "failing", "unknown"; "running", "stopped" for "relay" */
	long long last_ok;
	long long failing_since;
	const char *reason; /* may be NULL */
	long long alerted_at;
	long long reminded_at;
	int alerts;
	long long updated_at;
};
/* Writes (replaces) one part's row; in the caller's transaction or alone. 0 or -1. */
int db_health_put(struct db *db, const struct db_health *h);
typedef void (*db_health_cb)(void *arg, const struct db_health *h);
int db_health_get(struct db *db, db_health_cb cb, void *arg);
/* Pending forwards (young people's messages to the advisers) and replies
 * to young people: how many, and the oldest one's creation time (0: none).
 * 0 or -1. */
int db_backlog(struct db *db, int *forwards, long long *oldest_forward, int *replies, long long *oldest_reply);

#endif
