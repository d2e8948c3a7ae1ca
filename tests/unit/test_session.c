/* test_session: the child-process session shared by SMTP and Graph
 * (session.h), driven by a fake transport: reports, receipts, a crash, an
 * alarm, a session that could not be made, a note to the parent. */
#include "session.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"

enum script { SCRIPT_NORMAL, SCRIPT_CRASH, SCRIPT_FAILED, SCRIPT_SLOW };

struct fake {
	enum script script;
	struct smtp_outgoing *msgs;
};

static int broke_calls, broke_alarm, told_what, sent_calls;
static size_t sent_index[8], nsent;

static void fake_run(struct session_child *c, void *arg)
{
	struct fake *f = arg;
	switch (f->script) {
	case SCRIPT_NORMAL:
		session_child_tell(c, 7);
		f->msgs[0].outcome = SMTP_SENT;
		f->msgs[0].rcpt_accepted = 1;
		session_child_sent(c, 0);
		f->msgs[1].outcome = SMTP_PERMANENT;
		snprintf(f->msgs[1].detail, sizeof f->msgs[1].detail, "550 no such user (recipient 1 of 1)");
		session_child_outcome(c, 1);
		f->msgs[0].outcome = SMTP_TEMPORARY; /* an 'R' after its 'S' changes nothing */
		session_child_outcome(c, 0);
		f->msgs[2].outcome = SMTP_TEMPORARY;
		f->msgs[2].retry_after = 60;
		snprintf(f->msgs[2].detail, sizeof f->msgs[2].detail, "429 wait");
		session_child_outcome(c, 2);
		break;
	case SCRIPT_CRASH:
		f->msgs[0].outcome = SMTP_SENT;
		session_child_sent(c, 0);
		raise(SIGKILL);
		break;
	case SCRIPT_FAILED:
		session_child_failed(c, "the login was refused");
		break;
	case SCRIPT_SLOW:
		sleep(5);
		break;
	}
}

static void fake_told(void *arg, int what)
{
	(void)arg;
	told_what = what;
}

static void fake_broke(void *arg, int status, char *why, size_t whylen)
{
	(void)arg;
	broke_calls++;
	broke_alarm = WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM;
	snprintf(why, whylen, "the session broke off");
}

static const struct session_transport fake_transport = {
	.name = "Fake",
	.run = fake_run,
	.told = fake_told,
	.broke = fake_broke,
};

static void on_sent(void *arg, const size_t *index, size_t n, struct smtp_outgoing *msgs)
{
	(void)arg;
	(void)msgs;
	sent_calls++;
	for (size_t i = 0; i < n && nsent < 8; i++)
		sent_index[nsent++] = index[i];
}

static void reset(struct smtp_outgoing *m, size_t n)
{
	static const char *const rcpt[] = { "a@example.org" };
	memset(m, 0, n * sizeof *m);
	for (size_t i = 0; i < n; i++) {
		m[i].mail_from = "";
		m[i].rcpt = rcpt;
		m[i].nrcpt = 1;
		m[i].outcome = SMTP_SENT; /* session_new resets these */
		m[i].retry_after = 5;
		snprintf(m[i].detail, sizeof m[i].detail, "stale");
	}
	m[0].receipt = "1 <one@example.org>\n";
	broke_calls = broke_alarm = told_what = sent_calls = 0;
	nsent = 0;
}

static void test_normal(void)
{
	struct smtp_outgoing m[4];
	struct fake f = { SCRIPT_NORMAL, m };
	char path[] = "/tmp/test_session.XXXXXX", err[256] = "", got[64] = "";
	int fd = mkstemp(path);

	reset(m, 4);
	struct session *ss = session_new(m, 4);
	CHECK_INT("new: every message temporary", m[3].outcome, SMTP_TEMPORARY);
	CHECK_STR("new: no detail", m[3].detail, "");
	CHECK_INT("new: no wait", m[3].retry_after, 0);
	CHECK_INT("not forked: over", session_take(ss, 0, NULL, NULL), 1);
	CHECK_INT("fork", session_fork(ss, &fake_transport, &f, fd, 30, err, sizeof err), 0);
	while (!session_take(ss, 1, on_sent, NULL))
		;
	CHECK_INT("end", session_end(ss, err, sizeof err), 0);
	CHECK_INT("told once, with its note", told_what, 7);
	CHECK_INT("one message passed to on_sent", nsent, 1);
	CHECK_INT("the first", sent_index[0], 0);
	CHECK_INT("sent", m[0].outcome, SMTP_SENT);
	CHECK_INT("sent: recipients", m[0].rcpt_accepted, 1);
	CHECK_INT("refused", m[1].outcome, SMTP_PERMANENT);
	CHECK_STR("refused: detail", m[1].detail, "550 no such user (recipient 1 of 1)");
	CHECK_INT("deferred with a wait", m[2].retry_after, 60);
	CHECK_STR("deferred: detail", m[2].detail, "429 wait");
	CHECK_INT("not reported: temporary", m[3].outcome, SMTP_TEMPORARY);
	CHECK_INT("no break", broke_calls, 0);
	ssize_t k = pread(fd, got, sizeof got - 1, 0);
	got[k > 0 ? k : 0] = '\0';
	CHECK_STR("the receipt written by the child", got, "1 <one@example.org>\n");
	close(fd);
	unlink(path);
}

static void test_crash(void)
{
	struct smtp_outgoing m[2];
	struct fake f = { SCRIPT_CRASH, m };
	char err[256] = "";

	reset(m, 2);
	struct session *ss = session_new(m, 2);
	CHECK_INT("crash: fork", session_fork(ss, &fake_transport, &f, -1, 30, err, sizeof err), 0);
	while (!session_take(ss, 1, on_sent, NULL))
		;
	CHECK_INT("crash: end", session_end(ss, err, sizeof err), 0);
	CHECK_INT("crash: broke once", broke_calls, 1);
	CHECK_INT("crash: not the alarm", broke_alarm, 0);
	CHECK_INT("crash: the one reported stays sent", m[0].outcome, SMTP_SENT);
	CHECK_INT("crash: passed on", nsent, 1);
	CHECK_INT("crash: the rest temporary", m[1].outcome, SMTP_TEMPORARY);
	CHECK_STR("crash: with the transport's words", m[1].detail, "the session broke off");
}

static void test_alarm(void)
{
	struct smtp_outgoing m[1];
	struct fake f = { SCRIPT_SLOW, m };
	char err[256] = "";

	reset(m, 1);
	struct session *ss = session_new(m, 1);
	CHECK_INT("alarm: fork", session_fork(ss, &fake_transport, &f, -1, 1, err, sizeof err), 0);
	CHECK_INT("alarm: end", session_end(ss, err, sizeof err), 0);
	CHECK_INT("alarm: cut off by SIGALRM", broke_alarm, 1);
	CHECK_STR("alarm: message deferred", m[0].detail, "the session broke off");
}

static void test_failed(void)
{
	struct smtp_outgoing m[2];
	struct fake f = { SCRIPT_FAILED, m };
	char err[256] = "";

	reset(m, 2);
	struct session *ss = session_new(m, 2);
	m[1].outcome = SMTP_PERMANENT; /* refused before the session */
	snprintf(m[1].detail, sizeof m[1].detail, "the message has no recipient");
	CHECK_INT("failed: fork", session_fork(ss, &fake_transport, &f, -1, 30, err, sizeof err), 0);
	CHECK_INT("failed: end says so", session_end(ss, err, sizeof err), -1);
	CHECK_STR("failed: err", err, "the login was refused");
	CHECK_INT("failed: temporary", m[0].outcome, SMTP_TEMPORARY);
	CHECK_STR("failed: detail", m[0].detail, "the login was refused");
	CHECK_INT("failed: refused before stays refused", m[1].outcome, SMTP_PERMANENT);
	CHECK_STR("failed: with its own detail", m[1].detail, "the message has no recipient");
}

static void test_abandon(void)
{
	struct smtp_outgoing m[2];

	reset(m, 2);
	struct session *ss = session_new(m, 2);
	m[1].outcome = SMTP_PERMANENT;
	snprintf(m[1].detail, sizeof m[1].detail, "bad recipient");
	session_abandon(ss, "no SMTP host is configured");
	CHECK_STR("abandon: detail", m[0].detail, "no SMTP host is configured");
	CHECK_STR("abandon: refused stays", m[1].detail, "bad recipient");
	session_abandon(NULL, "x");
	CHECK_INT("end NULL", session_end(NULL, NULL, 0), 0);
}

int main(void)
{
	test_normal();
	test_crash();
	test_alarm();
	test_failed();
	test_abandon();
	return check_done();
}
