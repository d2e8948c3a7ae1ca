/* lifecycle.c: closing and reopening a conversation (see lifecycle.h). */
#include "lifecycle.h"


void lifecycle_set_open(struct conversation *c, int open, long long now)
{
	c->state = open ? CONVERSATION_OPEN : CONVERSATION_CLOSED;
	c->closed_at = open ? 0 : now;
	c->last_activity = now;
}
