/* Unit tests for files.c: which of the relay's own files someone else could
 * change, on a real file system under a private temporary directory. The
 * ownership cases need root (chown to a stranger); run as another user,
 * they are skipped and said so. */
#include "check.h"
#include "config.h"
#include "files.h"
#include "util.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define STRANGER 4242

static char base[256];
static char problems[8192];
static int nproblems;

static void collect(void *arg, const char *problem)
{
	(void)arg;
	nproblems++;
	size_t n = strlen(problems);
	snprintf(problems + n, sizeof problems - n, "%s\n", problem);
}

static char *at(const char *rel)
{
	return xasprintf("%s/%s", base, rel);
}

static void make_file(const char *rel, mode_t mode)
{
	char *p = at(rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0) {
		if (write(fd, "x\n", 2) != 2)
			perror(p);
		close(fd);
	}
	chmod(p, mode);
	free(p);
}

static void make_dir(const char *rel, mode_t mode)
{
	char *p = at(rel);
	mkdir(p, 0700);
	chmod(p, mode);
	free(p);
}

static void forget(struct config *c)
{
	free(c->path);
	free(c->templates);
	free(c->urgent_phrases);
	free(c->bank_holidays);
	free(c->secret_file);
	free(c->imap_password_file);
	free(c->database);
}

/* A set-up that passes: every path in base, private. */
static void fresh(struct config *c)
{
	char *cmd = xasprintf("rm -rf '%s'/*", base);
	if (system(cmd) != 0)
		printf("  (could not empty %s)\n", base);
	free(cmd);
	make_file("relay.conf", 0600);
	make_dir("templates", 0755);
	make_dir("templates/email", 0755);
	make_file("templates/email/first_contact.txt", 0644);
	make_file("urgent.txt", 0644);
	make_file("holidays.txt", 0644);
	make_file("secret", 0600);
	make_file("imap.password", 0600);
	make_dir("db", 0700);
	make_file("db/relay.db", 0600);
	forget(c);
	memset(c, 0, sizeof *c);
	c->path = at("relay.conf");
	c->templates = at("templates");
	c->urgent_phrases = at("urgent.txt");
	c->bank_holidays = at("holidays.txt");
	c->secret_file = at("secret");
	c->imap_password_file = at("imap.password");
	c->database = at("db/relay.db");
}

/* Runs the check; true when it found exactly want problems, one of them
 * naming the file rel and holding fix. */
static int finds(struct config *c, int want, const char *rel, const char *fix)
{
	problems[0] = '\0';
	nproblems = 0;
	int n = files_check(c, geteuid(), collect, NULL);
	char *name = rel ? at(rel) : NULL;
	int ok = n == want && n == nproblems && (!name || strstr(problems, name)) && (!fix || strstr(problems, fix));
	if (!ok)
		printf("  got %d problem(s):\n%s", n, problems);
	free(name);
	return ok;
}

int main(void)
{
	struct config c;
	memset(&c, 0, sizeof c);
	char tmpl[] = "/tmp/relay-files-XXXXXX";
	if (!mkdtemp(tmpl)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(base, sizeof base, "%s", tmpl);
	int root = geteuid() == 0;

	fresh(&c);
	CHECK("a private set-up (under /tmp, a sticky root-owned directory) passes", finds(&c, 0, NULL, NULL));

	char *p;
	p = at("relay.conf");
	chmod(p, 0666);
	CHECK("a world-writable configuration", finds(&c, 1, "relay.conf", "chmod go-w"));
	chmod(p, 0620);
	CHECK("a group-writable configuration", finds(&c, 1, "relay.conf", "mode 0620"));
	chmod(p, 0644);
	CHECK("a configuration others may read (not write) passes", finds(&c, 0, NULL, NULL));
	free(p);

	fresh(&c);
	p = at("templates");
	chmod(p, 0777);
	CHECK("the templates directory at 0777", finds(&c, 1, "templates", "chmod go-w"));
	chmod(p, 01777);
	CHECK("the templates directory sticky at 01777 (not root's own /tmp): still refused",
	      root ? finds(&c, 1, "templates", "chmod go-w") : 1);
	free(p);
	fresh(&c);
	p = at("templates/email");
	chmod(p, 0775);
	CHECK("a templates subdirectory at 0775", finds(&c, 1, "templates/email", "chmod go-w"));
	free(p);
	fresh(&c);
	p = at("templates/email/first_contact.txt");
	chmod(p, 0666);
	CHECK("a template at 0666", finds(&c, 1, "templates/email/first_contact.txt", "chmod go-w"));
	free(p);

	fresh(&c);
	p = at("urgent.txt");
	chmod(p, 0666);
	CHECK("the urgent list at 0666", finds(&c, 1, "urgent.txt", "chmod go-w"));
	free(p);
	fresh(&c);
	p = at("holidays.txt");
	chmod(p, 0646);
	CHECK("the bank holidays at 0646", finds(&c, 1, "holidays.txt", "chmod go-w"));
	free(p);

	/* A directory on the way writable by others: anything below could be swapped. */
	fresh(&c);
	chmod(base, 0777);
	CHECK("a directory on the way at 0777: each of the 7 files below is refused, naming it",
	      finds(&c, 7, NULL, "chmod go-w") && strstr(problems, "relay.conf:") && strstr(problems, "secret:"));
	chmod(base, 0700);

	/* A symlink: both ends are checked. */
	fresh(&c);
	make_dir("open", 0777);
	make_file("open/urgent.txt", 0644);
	p = at("urgent.txt");
	char *target = at("open/urgent.txt");
	unlink(p);
	if (symlink(target, p) == 0)
		CHECK("a symlinked urgent list into a directory others can write", finds(&c, 1, "open", "chmod go-w"));
	free(target);
	free(p);
	fresh(&c);
	make_dir("safe", 0755);
	make_file("safe/urgent.txt", 0644);
	p = at("urgent.txt");
	target = at("safe/urgent.txt");
	unlink(p);
	if (symlink(target, p) == 0)
		CHECK("a symlinked urgent list into a private directory passes", finds(&c, 0, NULL, NULL));
	free(target);
	free(p);

	/* The database: never a symlink, its directory not open to writing. */
	fresh(&c);
	p = at("db/relay.db");
	unlink(p);
	make_file("other.db", 0600);
	target = at("other.db");
	if (symlink(target, p) == 0)
		CHECK("a symlinked database", finds(&c, 1, "db/relay.db", "symbolic link"));
	unlink(p);
	if (symlink("/nonexistent/planted.db", p) == 0)
		CHECK("a dangling symlinked database", finds(&c, 1, "db/relay.db", "symbolic link"));
	unlink(p);
	CHECK("no database yet (it is made at the first start) passes", finds(&c, 0, NULL, NULL));
	make_file("db/relay.db-wal", 0600);
	make_file("db/relay.db", 0600);
	char *wal = at("db/relay.db-wal");
	unlink(wal);
	if (symlink(target, wal) == 0)
		CHECK("a symlinked -wal beside the database", finds(&c, 1, "db/relay.db-wal", "symbolic link"));
	free(wal);
	free(target);
	free(p);
	fresh(&c);
	p = at("db");
	chmod(p, 0773);
	CHECK("the database directory writable by others", finds(&c, 1, "db", "chmod 0700"));
	free(p);
	fresh(&c);
	p = at("db/relay.db");
	chmod(p, 0622);
	CHECK("the database writable by others", finds(&c, 1, "db/relay.db", "chmod 0600"));
	free(p);

	if (root) {
		fresh(&c);
		p = at("db/relay.db");
		CHECK("chown to a stranger", chown(p, STRANGER, -1) == 0);
		CHECK("the database owned by another user", finds(&c, 1, "db/relay.db", "chown root"));
		free(p);
		fresh(&c);
		p = at("db");
		CHECK("chown to a stranger", chown(p, STRANGER, -1) == 0);
		CHECK("the database directory owned by another user", finds(&c, 1, "db", "chown root"));
		free(p);
		fresh(&c);
		p = at("secret");
		CHECK("chown to a stranger", chown(p, STRANGER, -1) == 0);
		CHECK("the signing key owned by another user", finds(&c, 1, "secret", "chown root"));
		free(p);
		fresh(&c);
		p = at("relay.conf");
		CHECK("chown to a stranger", chown(p, STRANGER, -1) == 0);
		CHECK("the configuration owned by another user", finds(&c, 1, "relay.conf", "uid 4242"));
		free(p);
		fresh(&c);
		p = at("templates");
		CHECK("chown to a stranger", chown(p, STRANGER, -1) == 0);
		CHECK("the templates directory owned by another user (each template below too)",
		      finds(&c, 1, "templates", "uid 4242"));
		free(p);
		/* The service user is someone else than root: root's files still pass,
		 * the database must be the service user's own. */
		fresh(&c);
		problems[0] = '\0';
		nproblems = 0;
		int n = files_check(&c, STRANGER, collect, NULL);
		CHECK("as another service user: root's inputs pass, root's database and directory do not",
		      n == 1 && strstr(problems, "database directory") && strstr(problems, "chown 4242"));
	} else {
		printf("  (not root: the ownership cases are skipped)\n");
	}

	forget(&c);
	char *cmd = xasprintf("rm -rf '%s'", base);
	if (system(cmd) != 0)
		printf("  (could not remove %s)\n", base);
	free(cmd);
	return check_done();
}
