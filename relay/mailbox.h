/* mailbox.h: receiving from the service's IMAP inbox.
 *
 * Per mailbox a cursor (UIDVALIDITY, last UID) is kept in the database. New
 * messages are fetched with BODY.PEEK in batches; each batch is stored and the
 * cursor moved in one transaction, and only after that commit are they marked
 * \Seen. On the very first poll only unseen messages are taken, so connecting
 * an existing mailbox does not answer its history. A UIDVALIDITY change
 * rescans everything; Message-IDs keep that from forwarding anything twice. */
#ifndef RELAY_MAILBOX_H
#define RELAY_MAILBOX_H

#include "relay.h"

struct imap;

/* Connects and logs in with the configured settings. */
int mailbox_open(struct relay *r, struct imap **out, char *err, size_t errlen);

/* Takes in everything new. Returns the number of messages handled or -1. */
int mailbox_poll(struct relay *r, struct imap *im, char *err, size_t errlen);

#endif
