/* template.c: {{placeholder}} templates and the registry of templates. */
#include "template.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Each template the relay uses and the placeholders it may contain. */
static const struct {
	const char *name;
	const char *vars[16];
} registry[] = {
	{ "email/first_contact", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "email/out_of_hours", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "email/urgent", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "email/forward",
	  { "service_name", "reference", "channel", "received", "contact", "subject", "text", "attachments", "remarks",
	    NULL } },
	{ "email/reply", { "service_name", "reference", "text", NULL } },
	{ "email/receipt", { "service_name", "reference", "adviser", "channel", "how", "text", NULL } },
	{ "email/held", { "service_name", "reference", "sender", "reason", "text", NULL } },
	{ "email/refused", { "service_name", "reference", "reason", NULL } },
	{ "email/cleaning_held", { "service_name", "reference", "reason", "text", NULL } },
	{ "email/undelivered", { "service_name", "reference", "what", "reason", NULL } },
	{ "email/delayed", { "service_name", "reference", "what", "reason", NULL } },
	{ "email/budget", { "service_name", "reference", "budget", "until", NULL } },
	{ "email/set_aside",
	  { "service_name", "reference", "channel", "received", "contact", "reason", "text", "attachments", NULL } },
	{ "sms/first_contact", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "sms/stop", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "sms/start", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "sms/help", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "sms/out_of_hours", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "sms/urgent", { "service_name", "reference", "next_open", "hours", NULL } },
	{ "sms/reply", { "service_name", "reference", "text", NULL } },
	/* Health alerts (alerts.c): never a young person's words or contact. */
	{ "email/health_alert",
	  { "service_name", "kind", "part", "what", "todo", "reason", "since", "duration", "remind", NULL } },
	{ "email/health_recovered", { "service_name", "part", "since", "duration", NULL } },
	{ "sms/health_alert",
	  { "service_name", "kind", "part", "what", "todo", "reason", "since", "duration", "remind", NULL } },
	{ "sms/health_recovered", { "service_name", "part", "since", "duration", NULL } },
};

#define NREGISTRY (sizeof registry / sizeof registry[0])

int template_render(const char *text, const struct template_var *vars, size_t n, struct buf *out, char *err, size_t errlen)
{
	struct buf b;
	const char *p = text;

	buf_init(&b);
	while (*p) {
		const char *open = strstr(p, "{{");
		if (!open) {
			buf_adds(&b, p);
			break;
		}
		buf_add(&b, p, (size_t)(open - p));
		const char *close = strstr(open + 2, "}}");
		if (!close) {
			snprintf(err, errlen, "'{{' without '}}'");
			buf_free(&b);
			return -1;
		}
		const char *s = open + 2, *e = close;
		while (s < e && *s == ' ')
			s++;
		while (e > s && e[-1] == ' ')
			e--;
		size_t len = (size_t)(e - s);
		size_t i;
		for (i = 0; i < n; i++)
			if (strlen(vars[i].name) == len && strncmp(vars[i].name, s, len) == 0)
				break;
		if (i == n) {
			snprintf(err, errlen, "unknown placeholder {{%.*s}}", (int)(len > 40 ? 40 : len), s);
			buf_free(&b);
			return -1;
		}
		if (vars[i].value)
			buf_adds(&b, vars[i].value);
		p = close + 2;
	}
	buf_add(out, b.data ? b.data : "", b.len);
	buf_free(&b);
	return 0;
}

/* Templates read lately, so that a backlog of thousands of messages does
 * not read the same file thousands of times. An entry is used only while the
 * file is unchanged (same inode, size and modification time): an edit takes
 * effect with the next message, as when each was read afresh. */
#define CACHE_SLOTS 24

static struct cached {
	char *path;
	struct stat st; /* the file when it was read */
	struct template t;
} cache[CACHE_SLOTS];

/* The same file, unchanged: inode, size and modification time. */
static int unchanged(const struct stat *a, const struct stat *b)
{
	return a->st_dev == b->st_dev && a->st_ino == b->st_ino && a->st_size == b->st_size &&
	       a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

static struct cached *cache_find(const char *path, const struct stat *st)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++)
		if (cache[i].path && !strcmp(cache[i].path, path) && unchanged(&cache[i].st, st))
			return &cache[i];
	return NULL;
}

static void cache_keep(const char *path, const struct stat *st, const struct template *t)
{
	struct cached *c = NULL;
	for (size_t i = 0; i < CACHE_SLOTS && !c; i++)
		if (!cache[i].path || !strcmp(cache[i].path, path))
			c = &cache[i];
	if (!c)
		c = &cache[(size_t)st->st_ino % CACHE_SLOTS];
	free(c->path);
	template_free(&c->t);
	c->path = xstrdup(path);
	c->st = *st;
	c->t.subject = t->subject ? xstrdup(t->subject) : NULL;
	c->t.body = xstrdup(t->body);
}

static int parse_file(const char *path, const char *name, struct template *t, char *err, size_t errlen)
{
	char *data;
	char why[512];

	if (file_read(path, 256 * 1024, &data, NULL, why, sizeof why) < 0) {
		snprintf(err, errlen, "template %s: %s", name, why);
		return -1;
	}
	char *body = data;
	if (strncmp(data, "Subject:", 8) == 0) {
		char *nl = strchr(data, '\n');
		t->subject = xstrndup(data + 8, nl ? (size_t)(nl - data - 8) : strlen(data + 8));
		str_trim(t->subject);
		body = nl ? nl + 1 : data + strlen(data);
		if (*body == '\r')
			body++;
		if (*body == '\n')
			body++;
	}
	t->body = xstrdup(body);
	free(data);
	return 0;
}

int template_load(const char *dir, const char *name, struct template *t, char *err, size_t errlen)
{
	char *path = xasprintf("%s/%s.txt", dir, name);
	struct stat before, after;

	memset(t, 0, sizeof *t);
	int known = stat(path, &before) == 0 && S_ISREG(before.st_mode);
	struct cached *c = known ? cache_find(path, &before) : NULL;
	if (c) {
		t->subject = c->t.subject ? xstrdup(c->t.subject) : NULL;
		t->body = xstrdup(c->t.body);
		free(path);
		return 0;
	}
	if (parse_file(path, name, t, err, errlen) < 0) {
		free(path);
		return -1;
	}
	/* Kept only when the file did not change while it was read. */
	if (known && stat(path, &after) == 0 && unchanged(&before, &after))
		cache_keep(path, &after, t);
	free(path);
	return 0;
}

void template_forget(void)
{
	for (size_t i = 0; i < CACHE_SLOTS; i++) {
		free(cache[i].path);
		template_free(&cache[i].t);
		memset(&cache[i], 0, sizeof cache[i]);
	}
}

void template_free(struct template *t)
{
	if (!t)
		return;
	free(t->subject);
	free(t->body);
	memset(t, 0, sizeof *t);
}

int template_fill(const char *dir, const char *name, const struct template_var *vars, size_t n, char **subject, char **body,
                  char *err, size_t errlen)
{
	struct template t;
	struct buf s, b;
	char why[256];

	*subject = NULL;
	*body = NULL;
	if (template_load(dir, name, &t, err, errlen) < 0)
		return -1;
	buf_init(&s);
	buf_init(&b);
	if ((t.subject && template_render(t.subject, vars, n, &s, why, sizeof why) < 0) ||
	    template_render(t.body, vars, n, &b, why, sizeof why) < 0) {
		snprintf(err, errlen, "template %s: %s", name, why);
		buf_free(&s);
		buf_free(&b);
		template_free(&t);
		return -1;
	}
	*subject = t.subject ? buf_take(&s) : NULL;
	*body = buf_take(&b);
	buf_free(&s);
	template_free(&t);
	return 0;
}

int template_check_all(const char *dir, void (*report)(void *arg, const char *name, const char *problem), void *arg)
{
	int bad = 0;
	for (size_t i = 0; i < NREGISTRY; i++) {
		struct template_var vars[16];
		size_t n = 0;
		char err[512];
		char *subject = NULL, *body = NULL;

		for (; registry[i].vars[n]; n++) {
			vars[n].name = registry[i].vars[n];
			vars[n].value = "x";
		}
		if (template_fill(dir, registry[i].name, vars, n, &subject, &body, err, sizeof err) < 0) {
			report(arg, registry[i].name, err);
			bad++;
		} else {
			report(arg, registry[i].name, NULL);
		}
		free(subject);
		free(body);
	}
	return bad;
}
