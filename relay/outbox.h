/* outbox.h: sending what the outbox holds.
 *
 * A row is marked sent only when the SMTP server accepted the message for
 * every recipient; a temporary failure waits with exponential backoff and
 * jitter; a permanent one is marked failed, logged, and kept. */
#ifndef RELAY_OUTBOX_H
#define RELAY_OUTBOX_H

#include "graph.h"
#include "relay.h"
#include "smtp.h"

/* [smtp] transport = graph: messages go through Microsoft Graph (graph.h). */
int outbox_uses_graph(const struct config *c);

/* One session through the configured transport, waited for (health alerts):
 * as smtp_send() or graph_send(). */
int outbox_transport_send(const struct config *c, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen);

/* The configured transport's check (relay check, the health probe): as
 * smtp_check() or graph_check(). */
int outbox_transport_check(const struct config *c, char *err, size_t errlen);

/* Sends every due email, batch_size per SMTP session, until none is due.
 * Returns the number sent, or -1 when the server could not be reached (the
 * rows stay pending and are retried later; err says why). */
int outbox_flush(struct relay *r, char *err, size_t errlen);

/* Keeps the emails moving while the relay takes in mail (call it between
 * batches): takes the reports of the SMTP session under way and records them;
 * when it is over, or none runs, starts one for the emails due now. Never
 * waits for the server. 0, or -1 when a session failed (logged; the rows
 * stay pending). outbox_flush() finishes the session under way first. */
int outbox_pump(struct relay *r);

/* Before the relay's context goes: waits for the session under way and
 * records it, then removes this process's receipt file. */
void outbox_end(struct relay *r);

/* Asks the SMS gateway about texts whose delivery is not final, stores what
 * changed and tells the advisers about texts that did not arrive. Returns the
 * number changed or -1. */
int outbox_track_deliveries(struct relay *r);

/* Tells the advisers, once, about each message to a young person still not
 * delivered after [outbox] alert_after_hours (it stays queued and is retried);
 * messages to the advisers themselves are logged instead. Returns how many. */
int outbox_alert_stale(struct relay *r);

/* The wait before attempt number `attempts` + 1: retry_min doubling up to
 * retry_max, with up to 25% jitter from the random value in [0,1). Pure. */
long long outbox_backoff(int attempts, int retry_min, int retry_max, double random01);

#endif
