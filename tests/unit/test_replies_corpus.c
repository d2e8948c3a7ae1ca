/* The reply-cleaning corpus (tests/replies/cases, written by
 * tests/replies/generate.py): each reply as a mail client writes it, parsed
 * as the relay parses it, cleaned with the conversation's history, and
 * compared with the text the young person must receive, or, for a reply that
 * must be held, with what would have been sent. Prints each case that is
 * wrong and the count right. Run from the top of the tree. */
#include "check.h"
#include "clean.h"
#include "mime.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define DIR_CASES "tests/replies/cases"

static const char *const fills[][2] = {
	{ "{{reference}}", "RUS-7K3F2" },
	{ "{{reply_to}}", "rusafe+RUS-7K3F2.0a1b2c3d4e5f@example.org" },
	{ "{{forward_id}}", "fwd.RUS-7K3F2.1@example.org" },
	{ "{{received}}", "Sat 21 Nov 2026 10:01" },
	{ "{{contact}}", "s***@example.net" },
};

static char *fill(const char *s)
{
	struct buf b;
	buf_init(&b);
	buf_add(&b, "", 0);
	while (*s) {
		size_t i;
		for (i = 0; i < sizeof fills / sizeof fills[0]; i++)
			if (!strncmp(s, fills[i][0], strlen(fills[i][0])))
				break;
		if (i < sizeof fills / sizeof fills[0]) {
			buf_adds(&b, fills[i][1]);
			s += strlen(fills[i][0]);
		} else {
			buf_addc(&b, *s++);
		}
	}
	return buf_take(&b);
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	struct buf b;
	char chunk[4096];
	size_t n;

	if (!f)
		return NULL;
	buf_init(&b);
	buf_add(&b, "", 0);
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
		buf_add(&b, chunk, n);
	fclose(f);
	return buf_take(&b);
}

/* CRLF to LF, no line end after the last line */
static void unix_lines(char *s)
{
	char *w = s;
	for (char *p = s; *p; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*w++ = *p;
	while (w > s && w[-1] == '\n')
		w--;
	*w = '\0';
}

static int by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	DIR *d = opendir(DIR_CASES);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, right = 0;
	char *forward = slurp("tests/replies/forward.txt"), *young = slurp("tests/replies/young.txt");

	CHECK("the corpus is there (run from the top of the tree)", d != NULL && forward && young);
	if (!d || !forward || !young)
		return check_done();
	while ((e = readdir(d)) != NULL) {
		if (!strstr(e->d_name, ".eml"))
			continue;
		names = xrealloc(names, (n + 1) * sizeof *names);
		names[n++] = xstrdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof *names, by_name);
	char *fwd = fill(forward);
	unix_lines(fwd);
	unix_lines(young);
	/* As in a conversation: each reply is cleaned against the forward, the
	 * young person's message and every reply relayed before it. */
	const char **history = xmalloc((n + 2) * sizeof *history);
	size_t nhistory = 2;
	history[0] = fwd;
	history[1] = young;

	for (size_t i = 0; i < n; i++) {
		char path[512];
		snprintf(path, sizeof path, DIR_CASES "/%s", names[i]);
		char *file = slurp(path), *raw = file, *mark;
		int want_held;
		if (!file)
			continue;
		while (*raw == '#') {
			raw = strchr(raw, '\n');
			raw = raw ? raw + 1 : file + strlen(file);
		}
		mark = strstr(raw, "\r\n%%%% ");
		want_held = mark && !strncmp(mark, "\r\n%%%% held", 11);
		char *want = mark ? strchr(mark + 2, '\n') : NULL;
		if (!mark || !want) {
			CHECK(names[i], 0);
			free(file);
			continue;
		}
		*mark = '\0';
		want++;
		unix_lines(want);
		char *filled = fill(raw);
		struct mail m;
		mail_parse(filled, strlen(filled), NULL, &m);
		char *text = fill(m.text);
		struct clean_result res;
		clean_reply_with(text, history, nhistory, CLEAN_HOLD_PERCENT, &res);
		int ok = !strcmp(res.text, want) && (res.hold != CLEAN_SEND) == want_held;
		if (!ok)
			printf("WRONG %s: %s%s\n--- got ---\n%s\n--- want ---\n%s\n-----------\n", names[i],
			       res.hold != CLEAN_SEND ? "held: " : "", clean_hold_text(res.hold), res.text, want);
		right += ok;
		if (res.hold == CLEAN_SEND)
			history[nhistory++] = res.text; /* freed below */
		else
			clean_result_free(&res);
		free(text);
		mail_free(&m);
		free(filled);
		free(file);
	}
	printf("corpus: %zu of %zu cases right\n", right, n);
	CHECK("at least 200 cases", n >= 200);
	CHECK_INT("every case right", right, n);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	for (size_t i = 2; i < nhistory; i++)
		free((char *)history[i]);
	free(history);
	free(names);
	free(fwd);
	free(forward);
	free(young);
	return check_done();
}
