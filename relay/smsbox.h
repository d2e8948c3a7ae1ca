/* smsbox.h: receiving texts from the SMS gateway.
 *
 * Every inbound text after the stored cursor is fetched; all of them and the
 * new cursor are committed in one transaction, and only then is each
 * acknowledged to the gateway (Esendex: marked read). A poll cut off half-way
 * loses nothing (nothing was acknowledged) and duplicates nothing (texts are
 * keyed on the provider's id). */
#ifndef RELAY_SMSBOX_H
#define RELAY_SMSBOX_H

#include "relay.h"

/* Returns the number of texts handled, or -1 with err. */
int smsbox_poll(struct relay *r, char *err, size_t errlen);

#endif
