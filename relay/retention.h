/* retention.h: how long the relay keeps what young people and advisers
 * wrote. Used by the daemon (once a day, as "retention") and by relay purge
 * (as the operator at the console).
 *
 * Decides which conversations' text has outlived [policy] retention_days
 * after closing, removes it one conversation per transaction (stopping
 * between conversations when the relay is asked to stop), then empties the
 * write-ahead log so the removed text is in no file; logs what it removed,
 * and where it stopped when the database failed.
 *
 * Leaves to others: when to purge (daemon.c, tools.c), printing anything for
 * the operator (tools.c), and what removing a conversation's text keeps for
 * the statistics and the audit trail (db_purge_conversation, db.h). */
#ifndef RELAY_RETENTION_H
#define RELAY_RETENTION_H

#include <stddef.h>

#include "relay.h"

/* How many conversations a purge at r->now would remove the text of, in
 * *n: 0, or -1 when the database failed (logged; db_error says why). */
int retention_due(struct relay *r, size_t *n);

struct retention_outcome {
	size_t due;    /* conversations whose text had outlived retention_days */
	size_t purged; /* of those, removed: fewer when the relay was asked to stop */
	int wal_busy;  /* the write-ahead log could not be emptied (a reader held it; logged) */
};

/* Removes the text of every conversation due at r->now, recording actor
 * ("retention", "operator alice") in each one's audit trail, and fills
 * *out. Between conversations it stops when *r->stopping is set (purged <
 * due). 0, or -1 when the database failed: logged, db_error says why, and
 * out->purged says how many were removed before. */
int retention_purge(struct relay *r, const char *actor, struct retention_outcome *out);

#endif
