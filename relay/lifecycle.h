/* lifecycle.h: a conversation's state changes, closing and reopening, made
 * the same way whoever asks: an adviser's #close and #reopen (replies.c), a
 * reply that reopens a closed conversation, and the operator's relay close
 * and relay reopen (tools.c).
 *
 * Decides what a change does to the conversation: its state, when it
 * closed (0 while open), and its last activity.
 *
 * Leaves to others: whether the change is allowed, recording who made it and
 * why (the caller's transcript entry and log line), and writing the
 * conversation (db_conversation_update, in the caller's transaction). Closing
 * after close_after_days without activity is the database's
 * (db_close_inactive). Pure: no I/O. */
#ifndef RELAY_LIFECYCLE_H
#define RELAY_LIFECYCLE_H

#include "db.h"

/* Closes c (open 0) or reopens it (open 1) at now, in memory. */
void lifecycle_set_open(struct conversation *c, int open, long long now);

#endif
