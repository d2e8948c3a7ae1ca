/* Unit tests for kind.c and domain.c's kinds: who each kind of message is
 * for, and the word each is stored as. Every kind the relay stores is listed
 * with its word and its answer, so a kind added to one side of the decision
 * and not the other, or stored under another word, fails here. */
#include "check.h"
#include "domain.h"
#include "kind.h"

#include <stdio.h>

int main(void)
{
	static const struct {
		enum message_kind kind;
		const char *word;
		int young, advisers;
	} kinds[] = {
		{ KIND_REPLY, "reply", 1, 0 },       { KIND_AUTOREPLY, "autoreply", 1, 0 },
		{ KIND_FORWARD, "forward", 0, 1 },   { KIND_RECEIPT, "receipt", 0, 1 },
		{ KIND_NOTICE, "notice", 0, 1 },     { KIND_INBOUND, "inbound", 0, 0 },
		{ KIND_HELD, "held", 0, 0 },         { KIND_AUTOMATIC, "automatic", 0, 0 },
		{ KIND_SETASIDE, "setaside", 0, 0 }, { KIND_NOTE, "note", 0, 0 },
		{ KIND_COMMAND, "command", 0, 0 },   { KIND_RETRIED, "retried", 0, 0 },
		{ KIND_OTHER, "other", 0, 0 },
	};
	char name[96];
	CHECK_INT("every kind is listed here", sizeof kinds / sizeof kinds[0], KIND_OTHER + 1);
	for (size_t i = 0; i < sizeof kinds / sizeof kinds[0]; i++) {
		snprintf(name, sizeof name, "'%s' reaches a young person: %d", kinds[i].word, kinds[i].young);
		CHECK(name, kind_reaches_young_person(kinds[i].kind) == kinds[i].young);
		snprintf(name, sizeof name, "'%s' reaches the advisers: %d", kinds[i].word, kinds[i].advisers);
		CHECK(name, kind_reaches_advisers(kinds[i].kind) == kinds[i].advisers);
		CHECK("no kind is for both",
		      !(kind_reaches_young_person(kinds[i].kind) && kind_reaches_advisers(kinds[i].kind)));
		snprintf(name, sizeof name, "'%s' is stored as its word", kinds[i].word);
		CHECK_STR(name, kind_stored(kinds[i].kind), kinds[i].word);
		if (kinds[i].kind != KIND_OTHER) {
			snprintf(name, sizeof name, "'%s' reads back", kinds[i].word);
			CHECK_INT(name, kind_from_stored(kinds[i].word), kinds[i].kind);
		}
	}
	/* Words the relay never writes are no kind it acts on. */
	static const char *odd[] = { "Reply", "reply ", "", "replyx", "autoreplies", "other", "purged", NULL };
	for (int i = 0; odd[i]; i++) {
		snprintf(name, sizeof name, "'%s' is no kind the relay writes", odd[i]);
		CHECK_INT(name, kind_from_stored(odd[i]), KIND_OTHER);
		CHECK("and reaches nobody", !kind_reaches_young_person(kind_from_stored(odd[i])) &&
		                                    !kind_reaches_advisers(kind_from_stored(odd[i])));
	}
	CHECK_INT("NULL is no kind", kind_from_stored(NULL), KIND_OTHER);
	CHECK_STR("an out-of-range kind is stored as other", kind_stored((enum message_kind)99), "other");
	return check_done();
}
