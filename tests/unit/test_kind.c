/* Unit tests for kind.c: who each kind of message is for. Every kind the
 * relay stores (db.h) is listed with its answer, so a kind added to one side
 * of the decision and not the other fails here. */
#include "check.h"
#include "kind.h"

#include <stdio.h>

int main(void)
{
	static const struct {
		const char *kind;
		int young, advisers;
	} kinds[] = {
		{ "reply", 1, 0 },    { "autoreply", 1, 0 }, { "forward", 0, 1 },     { "receipt", 0, 1 },
		{ "notice", 0, 1 },   { "inbound", 0, 0 },   { "held", 0, 0 },        { "automatic", 0, 0 },
		{ "setaside", 0, 0 }, { "note", 0, 0 },      { "Reply", 0, 0 },       { "reply ", 0, 0 },
		{ "", 0, 0 },         { "replyx", 0, 0 },    { "autoreplies", 0, 0 },
	};
	char name[96];
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		snprintf(name, sizeof name, "'%s' reaches a young person: %d", kinds[i].kind, kinds[i].young);
		CHECK(name, kind_reaches_young_person(kinds[i].kind) == kinds[i].young);
		snprintf(name, sizeof name, "'%s' reaches the advisers: %d", kinds[i].kind, kinds[i].advisers);
		CHECK(name, kind_reaches_advisers(kinds[i].kind) == kinds[i].advisers);
		CHECK("no kind is for both",
		      !(kind_reaches_young_person(kinds[i].kind) && kind_reaches_advisers(kinds[i].kind)));
	}
	CHECK("NULL reaches nobody", !kind_reaches_young_person(NULL) && !kind_reaches_advisers(NULL));
	return check_done();
}
