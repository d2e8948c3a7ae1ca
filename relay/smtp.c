/* smtp.c: the public entry of smtp.h: the settings checked (what libESMTP
 * cannot do is refused here, before any connection), each message checked
 * before it is offered (smtp_judge.c), and the session run in a child
 * process (session.h) whose reports come back over a pipe. The session
 * itself is smtp_esmtp.c's (libESMTP; smtp_etpan.c for a token login); what
 * the replies mean is smtp_judge.c's. */
#include "smtp.h"
#include "smtp_p.h"
#include "session.h"

#include <arpa/inet.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "log.h"
#include "util.h"

#define DEFAULT_TIMEOUT 60

static int settings_check(const struct smtp_settings *s, struct watch *w, char *err, size_t errlen)
{
	struct in_addr a;

	memset(w, 0, sizeof *w);
	w->s = s;
	w->fd = -1;
	snprintf(w->phase, sizeof w->phase, "greeting");
	if (!s->host || *s->host == '\0') {
		snprintf(err, errlen, "no SMTP host is configured");
		return -1;
	}
	if (strchr(s->host, ':')) {
		snprintf(err, errlen,
		         "SMTP host %s: IPv6 addresses cannot be used with libESMTP; "
		         "give a host name",
		         s->host);
		return -1;
	}
	if (s->security == NET_SECURITY_TLS) {
		snprintf(err, errlen,
		         "SMTP security \"tls\" (implicit TLS, port 465) is not supported "
		         "by libESMTP; use \"starttls\" (usually port 587)");
		return -1;
	}
	if (s->security != NET_SECURITY_STARTTLS && s->security != NET_SECURITY_NONE) {
		snprintf(err, errlen, "unknown SMTP security setting");
		return -1;
	}
	if (s->port < 0 || s->port > 65535) {
		snprintf(err, errlen, "SMTP port %d is out of range", s->port);
		return -1;
	}
	if (s->username && !s->password && !s->token) {
		snprintf(err, errlen, "%s",
		         s->no_token ? s->no_token : "an SMTP user name is configured without a password");
		return -1;
	}
	if (s->username && s->token && s->security == NET_SECURITY_NONE) {
		snprintf(err, errlen, "refusing to send the OAuth2 token without TLS: set SMTP security to \"starttls\"");
		return -1;
	}
	if (s->username && s->security == NET_SECURITY_NONE) {
		snprintf(err, errlen,
		         "refusing to send the SMTP password without TLS: "
		         "set SMTP security to \"starttls\"");
		return -1;
	}
	w->port = s->port ? s->port : s->security == NET_SECURITY_STARTTLS ? 587 : 25;
	w->timeout = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT;
	w->want_auth = s->username != NULL;
	w->is_ip = inet_pton(AF_INET, s->host, &a) == 1;
	return 0;
}

/* ---- the session in a child process (session.h) ----------------------------
 *
 * libESMTP 1.1.0 calls a NULL handler (protocol_states[-1]) when the server
 * drops the connection while three or more pipelined replies are still
 * awaited, e.g. during the RCPTs of a forward to two advisers: the whole
 * relay would die. So the session runs in a child process, and a crash
 * costs only the messages it had not reported. */

struct smtp_session {
	struct watch w;
	struct job *jobs; /* owned */
	size_t njobs;
	struct session *core; /* owned: freed by session_end or session_abandon */
};

/* Frees ss, not ss->core. */
static void smtp_session_free(struct smtp_session *ss)
{
	if (!ss)
		return;
	for (size_t i = 0; i < ss->njobs; i++)
		free(ss->jobs[i].rcpt);
	free(ss->jobs);
	free(ss);
}

/* In the child: smtp_run_session(), each message reported as the server takes it,
 * then every outcome. */
static void child_run(struct session_child *c, void *arg)
{
	struct smtp_session *ss = arg;
	char cerr[512] = "";

	ss->w.child = c;
	int rc = smtp_run_session(&ss->w, ss->jobs, ss->njobs, 0, cerr, sizeof cerr);
	for (size_t i = 0; i < ss->njobs; i++)
		session_child_outcome(c, (size_t)(ss->jobs[i].out - ss->w.msgs));
	if (rc < 0)
		session_child_failed(c, cerr);
}

static void child_exit(void *arg)
{
	smtp_session_free(arg);
}

/* The child is gone without saying it was done. */
static void child_broke(void *arg, int status, char *why, size_t whylen)
{
	const struct smtp_session *ss = arg;

	if (WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM)
		snprintf(why, whylen, "SMTP host %s port %d: the session took too long and was cut off", ss->w.s->host,
		         ss->w.port);
	else
		snprintf(why, whylen,
		         "SMTP host %s port %d: the session broke off (the server dropped the "
		         "connection, and libESMTP failed%s)",
		         ss->w.s->host, ss->w.port, WIFSIGNALED(status) ? " with a crash" : "");
	log_warn("%s; the messages it had not taken will be tried again", why);
}

static const struct session_transport smtp_transport = {
	.name = "SMTP",
	.run = child_run,
	.child_exit = child_exit,
	.broke = child_broke,
};

int smtp_session_start(const struct smtp_settings *s, struct smtp_outgoing *msgs, size_t n, int receipt_fd,
                       struct smtp_session **out, char *err, size_t errlen)
{
	struct smtp_session *ss = xcalloc(1, sizeof *ss);
	size_t i, k;

	*out = NULL;
	ss->core = session_new(msgs, n);
	if (settings_check(s, &ss->w, err, errlen) < 0)
		goto fail;
	/* A message that cannot be offered safely is refused here, for good. */
	ss->jobs = xcalloc(n ? n : 1, sizeof *ss->jobs);
	for (i = 0; i < n; i++) {
		struct smtp_outgoing *o = &msgs[i];
		int eightbit;

		if (!smtp_address_ok(o->mail_from, 1)) {
			snprintf(o->detail, sizeof o->detail, "the envelope sender is not a usable address");
		} else if (o->nrcpt == 0 || !o->rcpt) {
			snprintf(o->detail, sizeof o->detail, "the message has no recipient");
		} else if (smtp_message_check(o->data, o->len, &eightbit, o->detail, sizeof o->detail) == 0) {
			for (k = 0; k < o->nrcpt && smtp_address_ok(o->rcpt[k], 0); k++)
				;
			if (k == o->nrcpt) {
				ss->jobs[ss->njobs++].out = o;
				continue;
			}
			snprintf(o->detail, sizeof o->detail, "recipient %zu of %zu is not a usable address", k + 1,
			         o->nrcpt);
		}
		o->outcome = SMTP_PERMANENT;
	}
	ss->w.msgs = msgs;
	ss->w.jobs = ss->jobs;
	ss->w.njobs = ss->njobs;
	/* A session has a bound: every phase's timeout, for each message. */
	if (ss->njobs > 0 && session_fork(ss->core, &smtp_transport, ss, receipt_fd,
	                                  (unsigned)(ss->w.timeout * (4 + 3 * ss->njobs)), err, errlen) < 0)
		goto fail;
	*out = ss;
	return 0;
fail:
	session_abandon(ss->core, err);
	smtp_session_free(ss);
	return -1;
}

int smtp_session_take(struct smtp_session *ss, int wait, smtp_sent_cb on_sent, void *arg)
{
	return session_take(ss->core, wait, on_sent, arg);
}

int smtp_session_end(struct smtp_session *ss, char *err, size_t errlen)
{
	if (!ss)
		return 0;
	int rc = session_end(ss->core, err, errlen);
	smtp_session_free(ss);
	return rc;
}

int smtp_send(const struct smtp_settings *s, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen)
{
	struct smtp_session *ss;
	if (smtp_session_start(s, msgs, n, -1, &ss, err, errlen) < 0)
		return -1;
	return smtp_session_end(ss, err, errlen);
}

int smtp_check(const struct smtp_settings *s, char *err, size_t errlen)
{
	/* MAIL FROM:<> and RCPT TO:<>: a recipient every server refuses, so the
	 * session ends with QUIT after the login without any message. */
	static const char *const nobody[] = { "" };
	struct smtp_outgoing probe_msg;
	struct job job;
	struct watch w;
	int rc;

	if (settings_check(s, &w, err, errlen) < 0)
		return -1;
	memset(&probe_msg, 0, sizeof probe_msg);
	probe_msg.mail_from = "";
	probe_msg.rcpt = nobody;
	probe_msg.nrcpt = 1;
	probe_msg.data = "";
	memset(&job, 0, sizeof job);
	job.out = &probe_msg;
	job.abort = 1;
	rc = smtp_run_session(&w, &job, 1, 1, err, errlen);
	free(job.rcpt);
	if (rc < 0)
		return -1;
	if (s->security == NET_SECURITY_STARTTLS && !w.tls_ok) {
		snprintf(err, errlen, "SMTP host %s: TLS was not established", s->host);
		return -1;
	}
	if (w.want_auth && !w.auth_ok) {
		snprintf(err, errlen, "SMTP host %s: the login did not succeed", s->host);
		return -1;
	}
	log_debug("smtp: check of %s port %d passed", s->host, w.port);
	return 0;
}
