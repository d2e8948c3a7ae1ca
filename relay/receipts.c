/* receipts.c: the receipt file of the SMTP sessions (see receipts.h). */
#include "receipts.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util.h"

struct receipts {
	int fd;
	char *path; /* owned */
};

/* The receipts in the file open on fd, from its start, pointing into *text
 * (owned by the caller); a last line without its newline (a write cut short)
 * is not a receipt. */
static int read_receipts(int fd, char **text, struct receipt **out, size_t *n)
{
	struct buf b;
	char chunk[4096];
	ssize_t got;
	off_t at = 0;

	*text = NULL;
	*out = NULL;
	*n = 0;
	buf_init(&b);
	while ((got = pread(fd, chunk, sizeof chunk, at)) != 0) {
		if (got < 0) {
			if (errno == EINTR)
				continue;
			buf_free(&b);
			return -1;
		}
		buf_add(&b, chunk, (size_t)got);
		at += got;
	}
	char *line = b.data;
	for (char *nl; line && (nl = memchr(line, '\n', b.len - (size_t)(line - b.data))); line = nl + 1) {
		char *end;
		*nl = '\0';
		long long id = strtoll(line, &end, 10);
		if (end == line || *end != ' ' || id <= 0 || !end[1])
			continue;
		*out = xrealloc(*out, (*n + 1) * sizeof **out);
		(*out)[*n].id = id;
		(*out)[*n].message_id = end + 1;
		(*n)++;
	}
	*text = buf_take(&b);
	return 0;
}

/* Reads the file open on fd and calls record with its receipts (when there
 * are any), dated by the file's last write. 0 when they are recorded, 1 when
 * record failed, -1 when the file cannot be read (errno says why); *n: how
 * many. */
static int replay(int fd, receipts_record_fn record, void *arg, size_t *n)
{
	struct receipt *got = NULL;
	char *text = NULL;
	struct stat st;
	*n = 0;
	if (fstat(fd, &st) < 0 || read_receipts(fd, &text, &got, n) < 0)
		return -1;
	int r = *n && record(arg, got, *n, (long long)st.st_mtime) != 0;
	free(got);
	free(text);
	return r;
}

/* The directory and the file-name prefix ("relay.db.receipts-") of db_path. */
static void split(const char *db_path, char **dir, char **prefix)
{
	char *a = xstrdup(db_path), *b = xstrdup(db_path);
	*dir = xstrdup(dirname(a));
	*prefix = xasprintf("%s.receipts-", basename(b));
	free(a);
	free(b);
}

int receipts_settle(const char *db_path, receipts_record_fn record, void *arg, char *err, size_t errlen)
{
	char *dir, *prefix;
	int settled = 0;

	split(db_path, &dir, &prefix);
	DIR *d = opendir(dir);
	if (!d) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		free(dir);
		free(prefix);
		return -1;
	}
	for (struct dirent *e; (e = readdir(d));) {
		if (strncmp(e->d_name, prefix, strlen(prefix)) != 0)
			continue;
		char *path = xasprintf("%s/%s", dir, e->d_name);
		int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0) {
			/* locked: its relay is alive and will record them itself */
			if (fd < 0 && errno != ENOENT) {
				snprintf(err, errlen, "%s: %s", path, strerror(errno));
				settled = -1;
			}
			if (fd >= 0)
				close(fd);
			free(path);
			continue;
		}
		size_t n;
		int r = replay(fd, record, arg, &n);
		if (r < 0) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			settled = -1;
		} else if (r == 0) {
			unlink(path);
			if (settled >= 0)
				settled += (int)n;
		}
		close(fd); /* drops the lock */
		free(path);
	}
	closedir(d);
	free(dir);
	free(prefix);
	return settled;
}

int receipts_open(const char *db_path, struct receipts **out, char *err, size_t errlen)
{
	char *dir, *prefix;
	split(db_path, &dir, &prefix);
	char *path = xasprintf("%s/%s%ld", dir, prefix, (long)getpid());
	free(dir);
	free(prefix);

	*out = NULL;
	int fd = open(path, O_CREAT | O_RDWR | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0 || ftruncate(fd, 0) < 0) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		return -1;
	}
	struct receipts *rc = xcalloc(1, sizeof *rc);
	rc->fd = fd;
	rc->path = path;
	*out = rc;
	return 0;
}

int receipts_fd(const struct receipts *rc)
{
	return rc ? rc->fd : -1;
}

void receipts_clear(struct receipts *rc)
{
	if (rc && ftruncate(rc->fd, 0) < 0) {
		/* Kept: settling them again later only finds them recorded. */
	}
}

int receipts_replay(struct receipts *rc, receipts_record_fn record, void *arg)
{
	size_t n;
	return rc && replay(rc->fd, record, arg, &n) == 0 ? 0 : -1;
}

void receipts_close(struct receipts *rc)
{
	if (!rc)
		return;
	unlink(rc->path);
	close(rc->fd);
	free(rc->path);
	free(rc);
}
