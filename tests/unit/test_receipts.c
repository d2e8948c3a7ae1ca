/* Unit tests for the receipt files (receipts.c): what a relay killed before
 * it recorded its session's acceptances leaves, and who may settle it. */
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "receipts.h"

struct seen {
	long long ids[16];
	char mids[16][64];
	size_t n;
	int calls;
	int fail;
};

static int record(void *arg, const struct receipt *r, size_t n, long long at)
{
	struct seen *s = arg;
	(void)at;
	s->calls++;
	if (s->fail)
		return -1;
	for (size_t i = 0; i < n && s->n < 16; i++) {
		snprintf(s->mids[s->n], sizeof s->mids[s->n], "%s", r[i].message_id);
		s->ids[s->n++] = r[i].id;
	}
	return 0;
}

static void write_file(const char *path, const char *text)
{
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd >= 0) {
		if (write(fd, text, strlen(text)) < 0)
			perror(path);
		close(fd);
	}
}

int main(void)
{
	char dir[] = "/tmp/receipts-test-XXXXXX", db[200], left[220], other[220];
	char err[512];
	if (!mkdtemp(dir))
		return 1;
	snprintf(db, sizeof db, "%s/relay.db", dir);
	snprintf(left, sizeof left, "%s/relay.db.receipts-99999999", dir);
	snprintf(other, sizeof other, "%s/other.db.receipts-1", dir);

	struct seen s = { 0 };
	CHECK_INT("nothing left: nothing settled", receipts_settle(db, record, &s, err, sizeof err), 0);
	CHECK_INT("nothing left: record not called", s.calls, 0);

	/* A relay killed mid-session: three receipts, the last one cut short. */
	write_file(left, "12 <a.1@x>\n13 <b.2@x>\n\nbad\n15\n16 \n14 <c.3@x>");
	write_file(other, "7 <d@x>\n");
	CHECK_INT("left file: two whole receipts", receipts_settle(db, record, &s, err, sizeof err), 2);
	CHECK_INT("left file: recorded in one call", s.calls, 1);
	CHECK_INT("left file: first id", s.ids[0], 12);
	CHECK_INT("left file: second id", s.ids[1], 13);
	CHECK_STR("left file: first Message-ID", s.mids[0], "<a.1@x>");
	CHECK_STR("left file: second Message-ID", s.mids[1], "<b.2@x>");
	CHECK_INT("left file: lines without a Message-ID and the cut line are no receipts", s.n, 2);
	CHECK("left file: removed once recorded", access(left, F_OK) != 0);
	CHECK("another database's file: untouched", access(other, F_OK) == 0);

	/* The database failed: the file stays for the next relay. */
	write_file(left, "21 <e@x>\n");
	struct seen f = { .fail = 1 };
	CHECK_INT("record failed: nothing settled", receipts_settle(db, record, &f, err, sizeof err), 0);
	CHECK("record failed: file kept", access(left, F_OK) == 0);
	unlink(left);

	/* A live relay's file is locked: nobody else settles it. */
	struct receipts *mine = NULL;
	CHECK_INT("open", receipts_open(db, &mine, err, sizeof err), 0);
	CHECK("open: a descriptor", receipts_fd(mine) >= 0);
	char mypath[240];
	snprintf(mypath, sizeof mypath, "%s/relay.db.receipts-%ld", dir, (long)getpid());
	struct stat st;
	CHECK("open: the file exists", stat(mypath, &st) == 0);
	CHECK_INT("open: mode 0600", st.st_mode & 0777, 0600);
	if (write(receipts_fd(mine), "31 <f@x>\n32 <g@x>\n", 18) != 18)
		CHECK("write receipts", 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* another relay, at the same time */
		struct seen o = { 0 };
		int k = receipts_settle(db, record, &o, err, sizeof err);
		_exit(k == 0 && o.calls == 0 ? 0 : 1);
	}
	int status = 0;
	waitpid(pid, &status, 0);
	CHECK("a live relay's receipts: left to it", WIFEXITED(status) && WEXITSTATUS(status) == 0);

	struct seen r = { 0 };
	CHECK_INT("replay: ok", receipts_replay(mine, record, &r), 0);
	CHECK_INT("replay: both", r.n, 2);
	CHECK_INT("replay: first", r.ids[0], 31);
	receipts_clear(mine);
	CHECK("clear: empty", stat(mypath, &st) == 0 && st.st_size == 0);
	struct seen e = { 0 };
	CHECK_INT("replay after clear: ok", receipts_replay(mine, record, &e), 0);
	CHECK_INT("replay after clear: nothing", e.calls, 0);
	if (write(receipts_fd(mine), "41 <h@x>\n", 9) != 9)
		CHECK("write after clear", 0);
	struct seen g = { 0 };
	receipts_replay(mine, record, &g);
	CHECK_INT("appends after clear start at the beginning", g.n == 1 ? g.ids[0] : 0, 41);
	receipts_close(mine);
	CHECK("close: file removed", access(mypath, F_OK) != 0);
	receipts_close(NULL);

	/* A relay killed while it held its file: the lock went with it. */
	pid = fork();
	if (pid == 0) {
		struct receipts *dead = NULL;
		if (receipts_open(db, &dead, err, sizeof err) < 0)
			_exit(1);
		if (write(receipts_fd(dead), "51 <i@x>\n", 9) != 9)
			_exit(1);
		kill(getpid(), SIGKILL);
	}
	waitpid(pid, &status, 0);
	struct seen k = { 0 };
	CHECK_INT("killed relay: its receipt settled", receipts_settle(db, record, &k, err, sizeof err), 1);
	CHECK_INT("killed relay: id", k.n ? k.ids[0] : 0, 51);

	CHECK_INT("missing directory: error", receipts_settle("/nonexistent/x/relay.db", record, &k, err, sizeof err), -1);
	CHECK("missing directory: named", strstr(err, "/nonexistent/x") != NULL);

	unlink(other);
	rmdir(dir);
	return check_done();
}
