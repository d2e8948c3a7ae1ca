/* kind.h: who a message of each kind is for, decided once.
 *
 * A transcript row and an outbox row carry a kind (domain.h lists them). Which kinds go to a young person and which to the advisers is
 * a safeguarding fact: the cleaner holds what was sent to a young person
 * against a reply (history.c), the outbox tells the advisers when a young
 * person could not be reached (outbox.c), and a reply that threads under our
 * own mail is an adviser's only when that mail went to the advisers
 * (received.c). They ask here; nothing else names these kinds for that. */
#ifndef RELAY_KIND_H
#define RELAY_KIND_H

#include "domain.h"

/* KIND_REPLY (an adviser's answer, relayed) and KIND_AUTOREPLY (the relay's
 * own answer, the signposting included): 1; any other kind: 0. */
int kind_reaches_young_person(enum message_kind kind);

/* KIND_FORWARD, KIND_RECEIPT and KIND_NOTICE: 1; any other kind: 0. */
int kind_reaches_advisers(enum message_kind kind);

#endif
