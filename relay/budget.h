/* budget.h: the overall auto-reply budget, counted (policy.h says what it
 * is and decides by it). The count of the current period lives in the
 * cursor table as "autoreply-budget" (validity: the period's start,
 * position: auto-replies queued in it), and the last period the advisers
 * were told about as "autoreply-budget-notice". Everything runs in the
 * caller's transaction, with the message that caused it. */
#ifndef RELAY_BUDGET_H
#define RELAY_BUDGET_H

#include "db.h"
#include "policy.h"
#include "relay.h"

/* Auto-replies queued so far in the period r->now falls in, into *used. 0 or -1. */
int budget_used(struct relay *r, int *used);

/* After a young person's message was decided (act, borrowed): counts the
 * auto-reply it queued, if any; when act->over_budget, tells the advisers in
 * conversation c's thread (c borrowed) unless they were told this period.
 * 0 or -1 on a database or template error. */
int budget_after(struct relay *r, struct conversation *c, const struct policy_actions *act);

#endif
