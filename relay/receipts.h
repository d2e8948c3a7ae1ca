/* receipts.h: proof that the SMTP server took a message, kept in a file
 * beside the database until the outbox has recorded it.
 *
 * The SMTP session runs in a child process and reports each accepted message
 * over a pipe; the relay records it in the database when it takes the report,
 * which may be a little later (between batches of incoming mail). A relay
 * killed in between would send those messages again. So the session first
 * appends the message's outbox id to this process's receipt file (no fsync:
 * like the outbox commits, it must survive the process, not a power cut), and
 * whoever opens the outbox next settles receipts left by a relay that is gone.
 *
 * The file is DB.receipts-PID (mode 0600), locked with flock() for as long as
 * its relay (and its session child) lives; a file that can be locked belongs
 * to nobody any more. One line per message: the outbox id in decimal, a
 * space, and the message's Message-ID (so that a receipt can never match
 * another message: after a restore from backup, say). */
#ifndef RELAY_RECEIPTS_H
#define RELAY_RECEIPTS_H

#include <stddef.h>

struct receipts;

/* One receipt. */
struct receipt {
	long long id;           /* the outbox row */
	const char *message_id; /* borrowed for the call */
};

/* record: marks the outbox rows of r[0..n-1] as sent at `at` (unix seconds),
 * when they are still pending and carry that Message-ID; 0, or -1 to keep the
 * receipts for later. */
typedef int (*receipts_record_fn)(void *arg, const struct receipt *r, size_t n, long long at);

/* Settles the receipt files of relays that are gone: calls record once per
 * file with its ids, then removes the file (kept when record fails).
 * Returns the number of receipts settled, or -1 when a file could not be read
 * (err says which). */
int receipts_settle(const char *db_path, receipts_record_fn record, void *arg, char *err, size_t errlen);

/* Creates and locks this process's receipt file. 0, or -1 with err. */
int receipts_open(const char *db_path, struct receipts **out, char *err, size_t errlen);

/* The descriptor to hand the SMTP session (a fork: it inherits it). */
int receipts_fd(const struct receipts *rc);

/* Every receipt written so far is in the database: empties the file. When
 * some were not recorded (the database failed), call receipts_replay()
 * first. */
void receipts_clear(struct receipts *rc);

/* Calls record with every receipt in this process's file. 0, or -1. */
int receipts_replay(struct receipts *rc, receipts_record_fn record, void *arg);

/* Closes and removes the file. NULL is fine. */
void receipts_close(struct receipts *rc);

#endif
