/* budget.c: counting auto-replies against [policy] autoreply_budget. */
#include "budget.h"

#include <stdio.h>

#include "log.h"
#include "outgoing.h"

#define COUNT_KEY "autoreply-budget"
#define NOTICE_KEY "autoreply-budget-notice"

int budget_used(struct relay *r, int *used)
{
	long long period = 0, count = 0;
	int rc = db_cursor_get(r->db, COUNT_KEY, &period, &count);

	*used = 0;
	if (rc < 0)
		return -1;
	if (rc == 0 && period == policy_budget_period(r->now))
		*used = count > 0 ? (int)count : 0;
	return 0;
}

int budget_after(struct relay *r, struct conversation *c, const struct policy_actions *act)
{
	long long period = policy_budget_period(r->now);

	if (act->autoreply) {
		int used;
		if (budget_used(r, &used) < 0 || db_cursor_set(r->db, COUNT_KEY, period, (long long)used + 1) < 0)
			return -1;
	}
	if (act->over_budget) {
		long long told = 0, unused = 0;
		int rc = db_cursor_get(r->db, NOTICE_KEY, &told, &unused);
		if (rc < 0)
			return -1;
		if (!policy_budget_notice(1, r->now, rc == 0 ? told : 0))
			return 0;
		if (outgoing_budget(r, c, r->cfg->autoreply_budget, period + POLICY_BUDGET_PERIOD) < 0 ||
		    db_cursor_set(r->db, NOTICE_KEY, period, 0) < 0)
			return -1;
		log_warn("%d auto-replies this hour: the [policy] autoreply_budget is spent; until the hour is over "
		         "messages are forwarded but only urgent ones answered (advisers told)",
		         r->cfg->autoreply_budget);
	}
	return 0;
}
