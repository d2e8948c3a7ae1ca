/* mailbox.h: receiving from the service's IMAP inbox.
 *
 * Per mailbox a cursor (UIDVALIDITY, last UID) is kept in the database. New
 * messages are fetched with BODY.PEEK in batches; each batch is stored and the
 * cursor moved in one transaction, and only after that commit are they marked
 * \Seen. On the very first poll only unseen messages are taken, so connecting
 * an existing mailbox does not answer its history. A UIDVALIDITY change
 * rescans everything; Message-IDs keep that from forwarding anything twice.
 *
 * Leaves to others: what a message means (intake.h) and sending anything
 * (outbox.h); the caller's hook runs between batches for that. */
#ifndef RELAY_MAILBOX_H
#define RELAY_MAILBOX_H

#include "relay.h"

struct imap;

/* Connects and logs in with the configured settings. */
int mailbox_open(struct relay *r, struct imap **out, char *err, size_t errlen);

/* Called after each fetch batch is committed, before the next is fetched,
 * for the caller's work that should not wait for the whole poll (the daemon
 * starts the outbox's session for what was stored). arg is the caller's. It
 * must not touch the IMAP session or leave a transaction open. */
typedef void (*mailbox_between_batches)(void *arg);

/* Takes in everything new, calling between(arg) after each batch (between
 * may be NULL). Returns the number of messages handled or -1. Talks to the
 * IMAP server and the database only; sending is the caller's (outbox.h). */
int mailbox_poll(struct relay *r, struct imap *im, mailbox_between_batches between, void *arg, char *err, size_t errlen);

#endif
