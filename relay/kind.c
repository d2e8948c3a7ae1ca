/* kind.c: who a message of each kind is for (see kind.h). */
#include "kind.h"

#include <string.h>

int kind_reaches_young_person(const char *kind)
{
	return kind && (!strcmp(kind, "reply") || !strcmp(kind, "autoreply"));
}

int kind_reaches_advisers(const char *kind)
{
	return kind && (!strcmp(kind, "forward") || !strcmp(kind, "receipt") || !strcmp(kind, "notice"));
}
