/* Unit tests for templates (template.c): rendering, the Subject line, and
 * that the copy kept in memory never outlives an edit of the file. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "template.h"

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

/* Loads and renders NAME with {{reference}} = RUS-1; returns owned body. */
static char *fill(const char *dir, const char *name, char **subject)
{
	struct template_var vars[] = { { "reference", "RUS-1" } };
	char *body = NULL, err[300];
	if (template_fill(dir, name, vars, 1, subject, &body, err, sizeof err) < 0)
		return xasprintf("ERROR %s", err);
	return body;
}

int main(void)
{
	char dir[] = "/tmp/template-test-XXXXXX", path[200], err[300];
	if (!mkdtemp(dir))
		return 1;
	char *sub = xasprintf("%s/email", dir);
	mkdir(sub, 0700);
	free(sub);
	snprintf(path, sizeof path, "%s/email/t.txt", dir);

	/* render */
	struct template_var v[] = { { "a", "1" }, { "b", NULL } };
	struct buf out;
	buf_init(&out);
	CHECK_INT("render: ok", template_render("x{{a}}y{{ b }}z", v, 2, &out, err, sizeof err), 0);
	CHECK_STR("render: values, NULL as empty", buf_str(&out), "x1yz");
	CHECK_INT("render: unknown name refused", template_render("{{c}}", v, 2, &out, err, sizeof err), -1);
	CHECK_STR("render: unknown name named", err, "unknown placeholder {{c}}");
	CHECK_INT("render: unclosed refused", template_render("{{a", v, 2, &out, err, sizeof err), -1);
	buf_free(&out);

	/* Subject line */
	write_file(path, "Subject: About {{reference}}\n\nHello {{reference}}\n");
	char *subject = NULL, *body = fill(dir, "email/t", &subject);
	CHECK_STR("subject rendered", subject, "About RUS-1");
	CHECK_STR("body rendered", body, "Hello RUS-1\n");
	free(subject);
	free(body);

	/* a second load comes from memory and is the same */
	body = fill(dir, "email/t", &subject);
	CHECK_STR("again: same body", body, "Hello RUS-1\n");
	CHECK_STR("again: same subject", subject, "About RUS-1");
	free(subject);
	free(body);

	/* an edit of another length takes effect at once */
	write_file(path, "Changed {{reference}}, longer now\n");
	body = fill(dir, "email/t", &subject);
	CHECK_STR("edit: new body", body, "Changed RUS-1, longer now\n");
	CHECK("edit: the Subject line went", subject == NULL);
	free(subject);
	free(body);

	/* an edit of the same length, in place, with a new time */
	write_file(path, "Changed {{reference}}, LONGER now\n");
	struct timespec later[2] = { { 0, UTIME_OMIT }, { time(NULL) + 5, 0 } };
	utimensat(AT_FDCWD, path, later, 0);
	body = fill(dir, "email/t", &subject);
	CHECK_STR("same length edit: new body", body, "Changed RUS-1, LONGER now\n");
	free(subject);
	free(body);

	/* a file replaced by another (new inode), as editors save */
	char tmp[220];
	snprintf(tmp, sizeof tmp, "%s/email/t.new", dir);
	write_file(tmp, "Changed {{reference}}, LONGER wow\n");
	utimensat(AT_FDCWD, tmp, later, 0);
	rename(tmp, path);
	body = fill(dir, "email/t", &subject);
	CHECK_STR("replaced file: new body", body, "Changed RUS-1, LONGER wow\n");
	free(subject);
	free(body);

	/* removed: an error, not the remembered text */
	unlink(path);
	body = fill(dir, "email/t", &subject);
	CHECK("removed: refused", strncmp(body, "ERROR template email/t:", 23) == 0);
	free(subject);
	free(body);

	/* many templates: more than the slots kept, each still right */
	int right = 0;
	for (int round = 0; round < 2; round++)
		for (int i = 0; i < 40; i++) {
			char p[220], name[40], want[40];
			snprintf(name, sizeof name, "email/n%d", i);
			snprintf(p, sizeof p, "%s/%s.txt", dir, name);
			snprintf(want, sizeof want, "number %d", i);
			if (round == 0)
				write_file(p, want);
			body = fill(dir, name, &subject);
			right += !strcmp(body, want);
			free(subject);
			free(body);
		}
	CHECK_INT("40 templates twice: each its own text", right, 80);
	template_forget();
	body = fill(dir, "email/n3", &subject);
	CHECK_STR("after forget: read again", body, "number 3");
	free(subject);
	free(body);
	template_forget();

	char cmd[300];
	snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
	if (system(cmd) != 0)
		CHECK("cleanup", 0);
	return check_done();
}
