/* kind.c: who a message of each kind is for (see kind.h). */
#include "kind.h"

int kind_reaches_young_person(enum message_kind kind)
{
	return kind == KIND_REPLY || kind == KIND_AUTOREPLY;
}

int kind_reaches_advisers(enum message_kind kind)
{
	return kind == KIND_FORWARD || kind == KIND_RECEIPT || kind == KIND_NOTICE;
}
