/* notify.h: telling systemd how the daemon is (sd_notify's socket protocol).
 *
 * The protocol is a few lines of "KEY=VALUE" in one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or '@' for the abstract
 * namespace), documented in sd_notify(3) as a stable interface; written
 * here rather than linking libsystemd for one call. Without
 * $NOTIFY_SOCKET (not started by systemd) every call does nothing. */
#ifndef RELAY_NOTIFY_H
#define RELAY_NOTIFY_H

/* Sends text ("READY=1\nSTATUS=...") once. 0 sent, 1 no socket, -1 failed. */
int notify_send(const char *text);

/* The keep-alive interval systemd asks for: half of $WATCHDOG_USEC, in
 * milliseconds, when $WATCHDOG_PID is unset or this process; 0: no
 * watchdog. */
long long notify_watchdog_ms(void);

/* WATCHDOG=1 when the interval has passed since the last one (monotonic
 * clock). Call it from the main loop only: a hung loop must stop them. */
void notify_keepalive(void);

/* Milliseconds until the next keep-alive is due (0: now), -1 without a
 * watchdog: how long the main loop may sleep. */
long long notify_due_in_ms(void);

#endif
