/* files.c: the relay's own files on the server (see files.h). */
#include "files.h"

#include <dirent.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "config.h"
#include "util.h"

struct checker {
	uid_t uid; /* the service user */
	files_report_fn report;
	void *arg;
	int problems;
};

static void __attribute__((format(printf, 2, 3))) problem(struct checker *ck, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	ck->problems++;
	ck->report(ck->arg, line);
}

/* "alice (uid 1001)", or "uid 1001" for a number with no name. */
static void user_text(uid_t u, char *out, size_t n)
{
	struct passwd *pw = getpwuid(u);
	if (pw)
		snprintf(out, n, "%s (uid %u)", pw->pw_name, (unsigned)u);
	else
		snprintf(out, n, "uid %u", (unsigned)u);
}

/* The service user's name, for a chown the operator can type. */
static void user_name(uid_t u, char *out, size_t n)
{
	struct passwd *pw = getpwuid(u);
	if (pw)
		snprintf(out, n, "%s", pw->pw_name);
	else
		snprintf(out, n, "%u", (unsigned)u);
}

static int trusted(const struct checker *ck, uid_t owner)
{
	return owner == 0 || owner == ck->uid;
}

/* The directory part of path ("." when there is none). Owned. */
static char *parent(const char *path)
{
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

/* dir and every directory above it (as the kernel resolves them): owned by
 * root or the service user, and not writable by group or others unless a
 * root-owned sticky directory. file names what they lead to. */
static int dirs_above(struct checker *ck, const char *dir, const char *file)
{
	char *real = realpath(dir, NULL), who[128];
	int rc = 0;
	if (!real)
		return 0; /* not there: reading the file will say so */
	for (;;) {
		struct stat sb;
		if (stat(real, &sb) == 0) {
			if (!trusted(ck, sb.st_uid)) {
				user_text(sb.st_uid, who, sizeof who);
				problem(ck,
				        "%s: the directory %s on its way belongs to %s, who could replace the file: "
				        "chown root %s, or move the file",
				        file, real, who, real);
				rc = -1;
				break;
			}
			if ((sb.st_mode & 022) && !((sb.st_mode & S_ISVTX) && sb.st_uid == 0)) {
				problem(ck,
				        "%s: the directory %s on its way is writable by group or others (mode %04o), who "
				        "could replace the file: chmod go-w %s",
				        file, real, (unsigned)(sb.st_mode & 07777), real);
				rc = -1;
				break;
			}
		}
		if (!strcmp(real, "/"))
			break;
		char *slash = strrchr(real, '/');
		if (slash == real)
			slash[1] = '\0';
		else
			*slash = '\0';
	}
	free(real);
	return rc;
}

/* The file (or directory) itself: owned by root or the service user, not
 * writable by group or others. */
static int owner_and_mode(struct checker *ck, const char *path, const char *what, const struct stat *sb)
{
	char who[128], me[64];
	if (!trusted(ck, sb->st_uid)) {
		user_text(sb->st_uid, who, sizeof who);
		user_name(ck->uid, me, sizeof me);
		problem(ck, "%s %s belongs to %s, not to root or the service user %s: chown %s %s", what, path, who, me, me,
		        path);
		return -1;
	}
	if (sb->st_mode & 022) {
		problem(ck, "%s %s is writable by group or others (mode %04o): chmod go-w %s", what, path,
		        (unsigned)(sb->st_mode & 07777), path);
		return -1;
	}
	return 0;
}

/* A file the relay reads: the directories to it (both ends of a symbolic
 * link), then the file. */
static int input(struct checker *ck, const char *path, const char *what)
{
	struct stat sb;
	char *dir;
	int rc;

	if (!path)
		return 0;
	dir = parent(path);
	rc = dirs_above(ck, dir, path);
	free(dir);
	if (rc < 0 || lstat(path, &sb) < 0)
		return rc;
	if (S_ISLNK(sb.st_mode)) {
		char *real = realpath(path, NULL);
		if (!real)
			return 0;
		dir = parent(real);
		rc = dirs_above(ck, dir, path);
		free(dir);
		free(real);
		if (rc < 0 || stat(path, &sb) < 0)
			return rc;
	}
	return owner_and_mode(ck, path, what, &sb);
}

/* The templates directory, and what is in it (two levels: email/, sms/). */
static void templates(struct checker *ck, const char *path, int depth)
{
	DIR *d;
	struct dirent *e;
	if (depth == 0 && input(ck, path, "the templates directory") < 0)
		return;
	if (!(d = opendir(path)))
		return;
	while ((e = readdir(d))) {
		struct stat sb;
		if (e->d_name[0] == '.')
			continue;
		char *p = xasprintf("%s/%s", path, e->d_name);
		if (stat(p, &sb) == 0) {
			int is_dir = S_ISDIR(sb.st_mode);
			if (owner_and_mode(ck, p, is_dir ? "the templates directory" : "the template", &sb) == 0 && is_dir &&
			    depth < 2)
				templates(ck, p, depth + 1);
		}
		free(p);
	}
	closedir(d);
}

/* The database: its directory and the files SQLite keeps beside it belong
 * to the service user; the database itself is never a symbolic link. */
static void database(struct checker *ck, const char *path)
{
	static const char *const suffix[] = { "", "-wal", "-shm", "-journal" };
	char *dir = parent(path), *up = parent(dir), who[128], me[64];
	struct stat sb;

	user_name(ck->uid, me, sizeof me);
	if (strcmp(dir, "/") && dirs_above(ck, up, path) < 0)
		goto out;
	if (lstat(dir, &sb) == 0) {
		if (S_ISLNK(sb.st_mode)) {
			problem(ck,
			        "the database directory %s is a symbolic link: name the real directory in [service] "
			        "database",
			        dir);
			goto out;
		}
		if (sb.st_uid != ck->uid) {
			user_text(sb.st_uid, who, sizeof who);
			problem(ck, "the database directory %s belongs to %s, not to the service user %s: chown %s %s", dir,
			        who, me, me, dir);
			goto out;
		}
		if (sb.st_mode & 022) {
			problem(ck, "the database directory %s is writable by group or others (mode %04o): chmod 0700 %s",
			        dir, (unsigned)(sb.st_mode & 07777), dir);
			goto out;
		}
	}
	for (size_t i = 0; i < sizeof suffix / sizeof suffix[0]; i++) {
		char *p = xasprintf("%s%s", path, suffix[i]);
		int bad = 1;
		if (lstat(p, &sb) < 0)
			bad = 0;
		else if (S_ISLNK(sb.st_mode))
			problem(ck,
			        "the database %s is a symbolic link, which the relay does not follow: put the database "
			        "itself there (or name its real path in [service] database)",
			        p);
		else if (!S_ISREG(sb.st_mode))
			problem(ck, "the database %s is not a regular file", p);
		else if (sb.st_uid != ck->uid) {
			user_text(sb.st_uid, who, sizeof who);
			problem(ck, "the database %s belongs to %s, not to the service user %s: chown %s %s", p, who, me, me,
			        p);
		} else if (sb.st_mode & 022)
			problem(ck, "the database %s is writable by group or others (mode %04o): chmod 0600 %s", p,
			        (unsigned)(sb.st_mode & 07777), p);
		else
			bad = 0;
		free(p);
		if (bad)
			break;
	}
out:
	free(dir);
	free(up);
}

int files_check(const struct config *c, uid_t uid, files_report_fn report, void *arg)
{
	struct checker ck = { uid, report, arg, 0 };

	(void)input(&ck, c->path, "the configuration");
	templates(&ck, c->templates, 0);
	(void)input(&ck, c->urgent_phrases, "the urgent list");
	(void)input(&ck, c->bank_holidays, "the bank holidays file");
	(void)input(&ck, c->imap_ca_file, "the CA file");
	(void)input(&ck, c->smtp_ca_file, "the CA file");
	(void)input(&ck, c->sms_ca_file, "the CA file");
	(void)input(&ck, c->secret_file, "the signing key");
	(void)input(&ck, c->imap_password_file, "the password file");
	(void)input(&ck, c->smtp_password_file, "the password file");
	if (config_has_sms(c))
		(void)input(&ck, c->sms_password_file, "the password file");
	database(&ck, c->database);
	return ck.problems;
}
