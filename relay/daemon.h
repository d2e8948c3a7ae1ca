/* daemon.h: the daemon, `relay run`, and its one cycle, `relay poll`.
 *
 * Decides the order of a cycle (the text inbox when its interval is due, the
 * email inbox, then the outbox: inactive conversations closed, due messages
 * sent, texts' deliveries tracked, stale messages alerted), which part's
 * health each outcome is, how long to wait between cycles (the poll
 * interval, the text interval, a backoff while a server is away, the
 * watchdog's next keep-alive, IMAP IDLE when offered), retention once a day,
 * the health alerts after each cycle, and what a reload (SIGHUP) replaces:
 * the configuration, the database when its path changed, the sessions.
 * While the inbox is read, the outbox's session carries what is stored
 * between fetch batches (mailbox.h's hook), so a long backlog's forwards
 * start before its last batch is in.
 *
 * Leaves to others: reading the command line, loading a configuration and
 * dropping root (main.c, through daemon_control.load), the signals (main.c
 * sets the flags it is given), fetching (mailbox.h, smsbox.h), sending
 * (outbox.h), what a received message means (intake.h), purging
 * (retention.h), the alerts themselves (alerts.h), sd_notify (notify.h). */
#ifndef RELAY_DAEMON_H
#define RELAY_DAEMON_H

#include <signal.h>

#include "config.h"
#include "db.h"

struct daemon_control {
	const char *config_path;          /* borrowed: the configuration file, read again on SIGHUP */
	volatile sig_atomic_t *stopping;  /* borrowed: set by SIGTERM and SIGINT; the loop ends */
	volatile sig_atomic_t *reloading; /* borrowed: set by SIGHUP; cleared here when the reload starts */
	/* Loads the configuration at path as the command line does (secrets,
	 * the files check, logging): 0 with *out (owned by the caller), or -1
	 * (said on stderr). */
	int (*load)(const char *path, struct config **out);
	int stays_root; /* [service] user = root, started as root: warned about */
};

/* The daemon: cycles until *d->stopping. *cp and *dbp are the caller's
 * (freed by it), replaced here on a reload (the old ones freed here).
 * Returns 0. */
/* Opens c's database, logging why it cannot be (the start, and a reload
 * that names another path). 0 or -1. */
int daemon_open_db(struct config *c, struct db **db);

int daemon_run(const struct daemon_control *d, struct config **cp, struct db **dbp);

/* One complete cycle with the SMS gateway polled, then the outbox's session
 * finished: 0 when every part went well, -1 when one failed (logged), or
 * the configured gateway could not be opened. stopping may be NULL. */
int daemon_poll(struct config *c, struct db *db, volatile sig_atomic_t *stopping);

#endif
