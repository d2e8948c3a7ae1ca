/* Unit tests for the UID FETCH commands imap.c writes itself (it sends
 * them ahead of reading the last answer, so libetpan's own sender is not
 * used): the set of UIDs, the 200-range limit, and what is asked for. */
#include <stdint.h>
#include <stdlib.h>

#include "check.h"
#include "imap.h"

static void fixed(const char *name, const uint32_t *uids, size_t n, int with_body, size_t partial, const char *want,
                  size_t want_used)
{
	size_t used = 0;
	char *got = imap_fetch_command(uids, n, with_body, partial, &used);
	CHECK_STR(name, got, want);
	CHECK_INT(name, used, want_used);
	free(got);
}

/* Reads "UID FETCH <set> (...)\r\n" back into uids; -1 when it is not one. */
static long parse_back(const char *cmd, uint32_t *out, size_t max, size_t *ranges)
{
	const char *p = cmd;
	size_t k = 0;

	*ranges = 0;
	if (strncmp(p, "UID FETCH ", 10) != 0)
		return -1;
	p += 10;
	for (;;) {
		char *end;
		unsigned long lo = strtoul(p, &end, 10), hi = lo;

		if (end == p)
			return -1;
		p = end;
		if (*p == ':') {
			hi = strtoul(p + 1, &end, 10);
			if (end == p + 1 || hi <= lo) /* a range is written only for two or more */
				return -1;
			p = end;
		}
		(*ranges)++;
		for (unsigned long u = lo; u <= hi; u++) {
			if (k == max)
				return -1;
			out[k++] = (uint32_t)u;
		}
		if (*p != ',')
			break;
		p++;
	}
	if (strcmp(p, " (UID BODY.PEEK[])\r\n") != 0)
		return -1;
	return (long)k;
}

int main(void)
{
	uint32_t one[] = { 7 };
	uint32_t run[] = { 4, 5, 6, 7, 8, 9 };
	uint32_t mixed[] = { 4, 5, 6, 7, 8, 9, 12, 14, 15, 4000000000u };

	fixed("one uid, sizes", one, 1, 0, 0, "UID FETCH 7 (UID RFC822.SIZE)\r\n", 1);
	fixed("one uid, whole body", one, 1, 1, 0, "UID FETCH 7 (UID BODY.PEEK[])\r\n", 1);
	fixed("one uid, first 65536 octets", one, 1, 1, 65536, "UID FETCH 7 (UID BODY.PEEK[]<0.65536>)\r\n", 1);
	fixed("a run is one range", run, 6, 1, 0, "UID FETCH 4:9 (UID BODY.PEEK[])\r\n", 6);
	fixed("runs and single uids", mixed, 10, 0, 0, "UID FETCH 4:9,12,14:15,4000000000 (UID RFC822.SIZE)\r\n", 10);
	fixed("partial applies to every uid", mixed + 6, 3, 1, 1024, "UID FETCH 12,14:15 (UID BODY.PEEK[]<0.1024>)\r\n", 3);

	/* 450 uids, every other one: 450 ranges, so 200 in the first command,
	 * and *used says where the next must start. */
	uint32_t sparse[450];
	for (size_t i = 0; i < 450; i++)
		sparse[i] = (uint32_t)(2 * i + 1);
	size_t used = 0, done = 0, commands = 0;
	while (done < 450) {
		char *cmd = imap_fetch_command(sparse + done, 450 - done, 1, 0, &used);
		uint32_t back[450];
		size_t ranges;
		long k = parse_back(cmd, back, 450, &ranges);
		CHECK("sparse: each command is well formed", k >= 0);
		CHECK("sparse: at most 200 ranges a command", ranges <= 200);
		CHECK("sparse: it covers what *used says",
		      k == (long)used && used > 0 && memcmp(back, sparse + done, used * sizeof *back) == 0);
		free(cmd);
		done += used ? used : 450;
		commands++;
	}
	CHECK_INT("sparse: 450 ranges take three commands", commands, 3);

	/* Random sorted sets: the command asks for exactly the uids it says it
	 * covers, in as few ranges as the runs allow. */
	srand(8);
	int bad = 0, rounds = 2000;
	for (int t = 0; t < rounds; t++) {
		size_t n = 1 + (size_t)(rand() % 600);
		uint32_t *u = malloc(n * sizeof *u), *back = malloc(n * sizeof *back);
		uint32_t next = 1 + (uint32_t)(rand() % 1000);
		size_t runs = 0;
		for (size_t i = 0; i < n; i++) {
			u[i] = next;
			next += rand() % 3 == 0 ? 2 + (uint32_t)(rand() % 50) : 1;
		}
		for (size_t i = 0; i < n; i++)
			runs += i == 0 || u[i] != u[i - 1] + 1;
		char *cmd = imap_fetch_command(u, n, 1, 0, &used);
		size_t ranges;
		long k = parse_back(cmd, back, n, &ranges);
		if (k < 0 || (size_t)k != used || memcmp(back, u, used * sizeof *u) != 0 ||
		    ranges != (runs < 200 ? runs : 200) || (runs <= 200 && used != n))
			bad++;
		free(cmd);
		free(u);
		free(back);
	}
	CHECK_INT("random sets: every command exact, in the fewest ranges (2000 sets)", bad, 0);
	return check_done();
}
