/* policy.c: the safeguarding decision for each young person's message. */
#include "policy.h"

#include <string.h>

void policy_decide(const struct policy_settings *s, const struct policy_input *in, struct policy_actions *out)
{
	memset(out, 0, sizeof *out);
	/* Every message from outside reaches the advisers, automatic or not:
	 * a child's words misread as automatic must still be seen. */
	out->forward = 1;

	if (in->automatic) {
		out->why = "automatic mail is never answered";
		return;
	}
	if (in->new_conversation) {
		out->autoreply = POLICY_FIRST_CONTACT;
		out->why = "first contact";
		return;
	}
	if (in->last_adviser_reply_at && in->now - in->last_adviser_reply_at < s->autoreply_window) {
		out->why = "an adviser answered within the window";
		return;
	}
	if (in->last_autoreply_at && in->now - in->last_autoreply_at < s->autoreply_window) {
		out->why = "auto-reply already sent within the window";
		return;
	}
	out->autoreply = POLICY_FIRST_CONTACT;
	out->why = "no auto-reply within the window";
}
