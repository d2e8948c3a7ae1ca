/* session.c: a batch of messages handed over by a child process (session.h). */
#include "session.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

/* One report over the pipe. */
struct wire {
	char kind; /* 'S' accepted now, 'R' final outcome, 'T' the transport's note (outcome: what),
	                           'E' no session (detail: why), 'D' done */
	uint32_t index;
	int32_t outcome;
	int32_t retry_after;
	uint64_t rcpt_accepted;
	char detail[640];
};

/* Smaller than PIPE_BUF: one write, never interleaved or split. */
_Static_assert(sizeof(struct wire) < PIPE_BUF, "a report must fit in one pipe write");

struct session {
	struct smtp_outgoing *msgs; /* borrowed */
	size_t n;
	const struct session_transport *t; /* borrowed; NULL until forked */
	void *arg;                         /* borrowed: t's */
	pid_t pid;                         /* the child; 0 when none was started */
	int fd;                            /* the pipe's read end; -1 once the child is done */
	unsigned char *reported;           /* owned: per message, its 'S' was passed on */
	int over;                          /* every message has its outcome */
	int failed;                        /* no session could be made: err */
	char err[640];
};

struct session_child {
	struct session *ss; /* the child's copy */
	int fd;             /* the pipe's write end */
	int receipt_fd;     /* the receipt file, or -1 */
};

static void wire_send(int fd, char kind, size_t index, const struct smtp_outgoing *o, const char *text)
{
	struct wire m;
	memset(&m, 0, sizeof m);
	m.kind = kind;
	m.index = (uint32_t)index;
	if (o) {
		m.outcome = (int32_t)o->outcome;
		m.retry_after = o->retry_after;
		m.rcpt_accepted = o->rcpt_accepted;
		text = o->detail;
	}
	if (text)
		snprintf(m.detail, sizeof m.detail, "%.*s", (int)sizeof m.detail - 1, text);
	ssize_t w;
	do
		w = write(fd, &m, sizeof m);
	while (w < 0 && errno == EINTR);
}

static int wire_read(int fd, struct wire *m)
{
	size_t got = 0;
	while (got < sizeof *m) {
		ssize_t r = read(fd, (char *)m + got, sizeof *m - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return -1;
		got += (size_t)r;
	}
	return 0;
}

void session_child_sent(struct session_child *c, size_t index)
{
	const struct smtp_outgoing *o = &c->ss->msgs[index];
	/* The receipt goes to the file first, so that it outlives both processes. */
	if (c->receipt_fd >= 0 && o->receipt) {
		ssize_t w;
		do
			w = write(c->receipt_fd, o->receipt, strlen(o->receipt));
		while (w < 0 && errno == EINTR);
	}
	wire_send(c->fd, 'S', index, o, NULL);
}

void session_child_outcome(struct session_child *c, size_t index)
{
	wire_send(c->fd, 'R', index, &c->ss->msgs[index], NULL);
}

void session_child_failed(struct session_child *c, const char *why)
{
	wire_send(c->fd, 'E', 0, NULL, why);
}

void session_child_tell(struct session_child *c, int what)
{
	struct smtp_outgoing note;
	memset(&note, 0, sizeof note);
	note.outcome = (enum smtp_outcome)what;
	wire_send(c->fd, 'T', 0, &note, NULL);
}

struct session *session_new(struct smtp_outgoing *msgs, size_t n)
{
	struct session *ss = xcalloc(1, sizeof *ss);
	ss->msgs = msgs;
	ss->n = n;
	ss->fd = -1;
	ss->over = 1;
	ss->reported = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < n; i++) {
		msgs[i].outcome = SMTP_TEMPORARY;
		msgs[i].rcpt_accepted = 0;
		msgs[i].retry_after = 0;
		msgs[i].detail[0] = '\0';
	}
	return ss;
}

static void session_free(struct session *ss)
{
	if (!ss)
		return;
	if (ss->fd >= 0)
		close(ss->fd);
	free(ss->reported);
	free(ss);
}

/* What has no outcome of its own yet waits for another session. */
static void fail_unsettled(struct session *ss, const char *why)
{
	for (size_t i = 0; i < ss->n; i++) {
		struct smtp_outgoing *o = &ss->msgs[i];
		if (ss->reported[i] || o->outcome == SMTP_SENT || (o->outcome == SMTP_PERMANENT && o->detail[0]))
			continue;
		o->outcome = SMTP_TEMPORARY;
		o->rcpt_accepted = 0;
		snprintf(o->detail, sizeof o->detail, "%.*s", (int)sizeof o->detail - 1, why);
	}
}

void session_abandon(struct session *ss, const char *why)
{
	if (!ss)
		return;
	fail_unsettled(ss, why);
	session_free(ss);
}

int session_fork(struct session *ss, const struct session_transport *t, void *arg, int receipt_fd, unsigned alarm_secs,
                 char *err, size_t errlen)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the %s session: %s", t->name, strerror(errno));
		return -1;
	}
	/* Room for every report of a long session while the parent is busy
	 * taking in mail (best effort: the child waits when it is full). */
	(void)fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
	fflush(NULL); /* nothing buffered may be written twice */
	ss->t = t;
	ss->arg = arg;
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start the %s session: %s", t->name, strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		struct session_child c = { ss, fds[1], receipt_fd };
		close(fds[0]);
		/* The session ends with the relay: a message the server took
		 * after the parent died could not be recorded, and would go twice. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		/* A stop (SIGTERM, Ctrl-C) lets the session finish, within its alarm. */
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		alarm(alarm_secs);
		t->run(&c, arg);
		wire_send(c.fd, 'D', 0, NULL, NULL);
		/* The child's copies, freed: nothing left for valgrind to find
		 * unreachable once _exit (noreturn) lets the compiler drop the
		 * last pointer to them. */
		if (t->child_exit)
			t->child_exit(arg);
		session_free(ss);
		_exit(0); /* no atexit handlers, no stdio flush: those belong to the parent */
	}
	close(fds[1]);
	ss->pid = pid;
	ss->fd = fds[0];
	ss->over = 0;
	return 0;
}

/* Waits for the child once its reports are over (or the pipe broke). */
static void reap(struct session *ss, int done)
{
	int status = 0;
	close(ss->fd);
	ss->fd = -1;
	while (waitpid(ss->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!done) {
		char why[400];
		ss->t->broke(ss->arg, status, why, sizeof why);
		fail_unsettled(ss, why);
	}
	ss->over = 1;
}

int session_take(struct session *ss, int wait, smtp_sent_cb on_sent, void *arg)
{
	size_t *accepted = NULL, naccepted = 0;
	int done = 0, broke = 0;

	if (ss->over)
		return 1;
	accepted = xcalloc(ss->n ? ss->n : 1, sizeof *accepted);
	for (;;) {
		struct pollfd p = { ss->fd, POLLIN, 0 };
		int ready = poll(&p, 1, wait ? -1 : 0);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;
		struct wire m;
		if (wire_read(ss->fd, &m) < 0) {
			broke = 1;
			break;
		}
		wait = 0; /* one report waited for; the rest only if already there */
		if (m.kind == 'T') {
			if (ss->t->told)
				ss->t->told(ss->arg, m.outcome);
			continue;
		}
		if (m.kind == 'E') {
			snprintf(ss->err, sizeof ss->err, "%s", m.detail);
			ss->failed = 1;
			continue;
		}
		if (m.kind == 'D') {
			done = 1;
			break;
		}
		if (m.index >= ss->n || ss->reported[m.index])
			continue; /* an 'R' after its 'S': passed on already */
		struct smtp_outgoing *o = &ss->msgs[m.index];
		o->outcome = (enum smtp_outcome)m.outcome;
		o->retry_after = m.retry_after;
		o->rcpt_accepted = (size_t)m.rcpt_accepted;
		snprintf(o->detail, sizeof o->detail, "%.*s", (int)sizeof o->detail - 1, m.detail);
		if (m.kind == 'S') {
			ss->reported[m.index] = 1;
			accepted[naccepted++] = m.index;
		}
	}
	/* Accepted before any other outcome is known: the caller records them
	 * first, together. */
	if (naccepted && on_sent)
		on_sent(arg, accepted, naccepted, ss->msgs);
	free(accepted);
	if (done || broke)
		reap(ss, done);
	return ss->over;
}

int session_end(struct session *ss, char *err, size_t errlen)
{
	int rc = 0;
	if (!ss)
		return 0;
	while (!ss->over)
		session_take(ss, 1, NULL, NULL);
	if (ss->failed) {
		snprintf(err, errlen, "%s", ss->err);
		fail_unsettled(ss, ss->err);
		rc = -1;
	}
	session_free(ss);
	return rc;
}
