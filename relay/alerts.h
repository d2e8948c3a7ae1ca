/* alerts.h: the daemon's health carried out (health.h decides): the
 * backlog read from the outbox, outgoing mail tried again while it fails,
 * alerts sent by email or by text to the people in [health], the state
 * written to the database for `relay status`, and the metrics file.
 *
 * An alert goes straight to the SMTP server or the SMS gateway, never
 * through the outbox: it must not wait behind the backlog it reports. */
#ifndef RELAY_ALERTS_H
#define RELAY_ALERTS_H

#include "health.h"
#include "relay.h"

/* Fills h from what an earlier daemon wrote (incidents, alerts sent), the
 * parts' states unknown until seen again. r->db and r->cfg borrowed. */
void alerts_restore(struct relay *r, struct health *h);

/* Once a cycle, after the parts have noted their outcomes: the backlog,
 * outgoing mail probed while it fails, then each part's alert, reminder or
 * recovery sent; the state saved (alerts_save) and the metrics file
 * written. */
void alerts_run(struct relay *r, struct health *h);

/* Writes h to the database for relay status, with the daemon's own row
 * in state ("running", "stopped"). Skipped while the disk takes no
 * writes. */
void alerts_save(struct relay *r, const struct health *h, const char *state);

/* Writes the Prometheus text of h to path atomically (a temporary file
 * renamed over it). 0 or -1 with err. */
int alerts_write_metrics(const char *path, const struct health *h, long long now, char *err, size_t errlen);

#endif
