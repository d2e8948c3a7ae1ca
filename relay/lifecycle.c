/* lifecycle.c: closing and reopening a conversation (see lifecycle.h). */
#include "lifecycle.h"

#include <stdlib.h>

#include "util.h"

void lifecycle_set_open(struct conversation *c, int open, long long now)
{
	free(c->state);
	c->state = xstrdup(open ? "open" : "closed");
	c->closed_at = open ? 0 : now;
	c->last_activity = now;
}
