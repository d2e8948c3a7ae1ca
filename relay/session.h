/* session.h: a batch of messages (struct smtp_outgoing) handed over by a
 * child process, for the transports behind smtp.h and graph.h.
 *
 * The transport's run function carries the batch in a child process and
 * reports each message over a pipe as it goes. For a message the server
 * took, the child first appends the message's `receipt` line to the receipt
 * file, so that the proof of acceptance outlives both processes (outbox.c),
 * then reports it. The parent takes the reports when it likes (between
 * batches of incoming mail) and never waits for the server; a child that
 * dies, or overruns its alarm, costs only the messages it had not reported,
 * which stay SMTP_TEMPORARY. The child never touches the database.
 *
 * The child dies with the relay (a message taken after the parent died
 * could not be recorded, and would go twice); SIGTERM, SIGINT and SIGHUP
 * let it finish, within its alarm. */
#ifndef RELAY_SESSION_H
#define RELAY_SESSION_H

#include <stddef.h>

#include "handover.h"

struct session;       /* the parent's side */
struct session_child; /* the child's side: what run reports through */

/* What differs between transports. Every function gets the arg given to
 * session_fork(). */
struct session_transport {
	const char *name; /* "SMTP", "Graph": "cannot start the SMTP session: ..." */
	/* In the child: carries the batch, reporting every message it offered
	 * through c (session_child_sent, session_child_outcome), and
	 * session_child_failed() when no session could be made. */
	void (*run)(struct session_child *c, void *arg);
	/* In the child, once everything is reported: frees what arg owns (a
	 * token to wipe; nothing left for valgrind). May be NULL. */
	void (*child_exit)(void *arg);
	/* In the parent, as reports are taken: the child's
	 * session_child_tell(c, what). May be NULL. */
	void (*told)(void *arg, int what);
	/* In the parent: the child ended without saying it was done (status as
	 * waitpid() gives it). Writes into why, for the detail of every message
	 * not yet settled, the words that say so, and logs them. */
	void (*broke)(void *arg, int status, char *why, size_t whylen);
};

/* A session for msgs[0..n-1] (borrowed until session_end() or
 * session_abandon()): every message is made SMTP_TEMPORARY, taken by no
 * recipient, with no detail and no wait; the caller may then refuse some
 * for good (SMTP_PERMANENT with a detail). Until session_fork() succeeds it
 * is over: session_take() returns 1. Owned by the caller; never NULL. */
struct session *session_new(struct smtp_outgoing *msgs, size_t n);

/* Starts t->run(c, arg) in a child process, killed by SIGALRM after
 * alarm_secs. receipt_fd (or -1): a file open for appending, for the
 * receipts. t and arg are borrowed until session_end(); the child has its
 * own copy of arg. 0, or -1 with err ("cannot start the Graph session: ...");
 * ss is then still the caller's, for session_abandon(). */
int session_fork(struct session *ss, const struct session_transport *t, void *arg, int receipt_fd, unsigned alarm_secs,
                 char *err, size_t errlen);

/* As smtp_session_take(): passes the messages reported accepted since the
 * last call to on_sent (may be NULL). 1 once the session is over. */
int session_take(struct session *ss, int wait, smtp_sent_cb on_sent, void *arg);

/* As smtp_session_end(): waits for the session to be over, frees it, and
 * returns 0, or -1 with err when the child said no session could be made
 * (every message not yet settled is then SMTP_TEMPORARY with those words).
 * A message is settled once reported accepted, SMTP_SENT, or SMTP_PERMANENT
 * with a detail. NULL is fine. */
int session_end(struct session *ss, char *err, size_t errlen);

/* No session after all (the settings, a token, session_fork): every message
 * not yet settled becomes SMTP_TEMPORARY with why as its detail; ss is freed.
 * Not for a session whose child runs. NULL is fine. */
void session_abandon(struct session *ss, const char *why);

/* --- in the child, from run ------------------------------------------------ */

/* The server took msgs[index] (its outcome SMTP_SENT): its receipt line is
 * written first, then the report. Passed on by the next session_take(). */
void session_child_sent(struct session_child *c, size_t index);

/* msgs[index] has its final outcome (ignored by the parent once the message
 * was reported by session_child_sent). */
void session_child_outcome(struct session_child *c, size_t index);

/* No session could be made: why (borrowed) is what session_end() returns. */
void session_child_failed(struct session_child *c, const char *why);

/* A note of the transport's own for its parent: t->told(arg, what). */
void session_child_tell(struct session_child *c, int what);

#endif
