/* graph.c: sending through Microsoft Graph sendMail (see graph.h). */
#include "graph.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "address.h"
#include "http.h"
#include "jsonread.h"
#include "log.h"
#include "oauth.h"

#define DEFAULT_TIMEOUT 30
#define MAX_RETRY_AFTER 86400
#define TOKEN_MIN_VALID 300     /* seconds a session's token must still have */

/* ---- reading and writing the message ---------------------------------------- */

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static void base64_append(struct buf *out, const unsigned char *p, size_t n)
{
	char q[4];
	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned)p[i] << 16;
		if (i + 1 < n)
			v |= (unsigned)p[i + 1] << 8;
		if (i + 2 < n)
			v |= p[i + 2];
		q[0] = b64chars[(v >> 18) & 63];
		q[1] = b64chars[(v >> 12) & 63];
		q[2] = i + 1 < n ? b64chars[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? b64chars[v & 63] : '=';
		buf_add(out, q, 4);
	}
}

/* One mailbox's addr-spec as read so far. */
struct mailbox_tok {
	struct buf plain;       /* outside <> and comments, white space dropped (quotes kept) */
	struct buf angle;       /* inside <> */
	int has_angle;
};

static int tok_flush(struct mailbox_tok *t, char ***list, size_t *n)
{
	const struct buf *spec = t->has_angle ? &t->angle : &t->plain;
	int rc = 0;
	if (spec->len) {
		char *norm = NULL;
		if (address_normalise(buf_str(spec), &norm) != ADDRESS_OK) {
			rc = -1;
		} else {
			*list = xrealloc(*list, (*n + 1) * sizeof **list);
			(*list)[(*n)++] = norm;
		}
	}
	buf_reset(&t->plain);
	buf_reset(&t->angle);
	t->has_angle = 0;
	return rc;
}

int graph_address_list(const char *value, char ***list, size_t *n)
{
	struct mailbox_tok t = { .has_angle = 0 };
	int depth = 0, quoted = 0, in_angle = 0, rc = 0;

	buf_init(&t.plain);
	buf_init(&t.angle);
	for (const char *p = value; *p && rc == 0; p++) {
		char c = *p;
		struct buf *to = in_angle ? &t.angle : &t.plain;
		if (quoted) {
			buf_addc(to, c);
			if (c == '\\' && p[1])
				buf_addc(to, *++p);
			else if (c == '"')
				quoted = 0;
			continue;
		}
		if (depth) {   /* a comment, perhaps nested */
			if (c == '\\' && p[1])
				p++;
			else if (c == '(')
				depth++;
			else if (c == ')')
				depth--;
			continue;
		}
		switch (c) {
		case '(':
			depth = 1;
			break;
		case '"':
			quoted = 1;
			buf_addc(to, c);
			break;
		case '<':
			if (in_angle)
				rc = -1;
			in_angle = t.has_angle = 1;
			buf_reset(&t.angle);
			break;
		case '>':
			in_angle = 0;
			break;
		case ':':   /* a group's name, or a route in <>: what follows is the address */
			if (in_angle)
				buf_reset(&t.angle);
			else
				buf_reset(&t.plain);
			break;
		case ',':
		case ';':
			if (in_angle)
				rc = -1;
			else
				rc = tok_flush(&t, list, n);
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
			break;
		default:
			buf_addc(to, c);
			break;
		}
	}
	if (rc == 0 && (quoted || depth || in_angle))
		rc = -1;
	if (rc == 0)
		rc = tok_flush(&t, list, n);
	buf_free(&t.plain);
	buf_free(&t.angle);
	return rc;
}

/* The header recipients (To and Cc fields, unfolded) of the header block
 * data[0..hlen). 0 or -1. */
static int header_recipients(const char *data, size_t hlen, char ***list, size_t *n)
{
	size_t i = 0;
	while (i < hlen) {
		size_t end = i;
		/* the field runs until a line that does not start with white space */
		for (;;) {
			const char *nl = memchr(data + end, '\n', hlen - end);
			end = nl ? (size_t)(nl - data) + 1 : hlen;
			if (end >= hlen || (data[end] != ' ' && data[end] != '\t'))
				break;
		}
		int to = end - i > 3 && str_ncasecmp_ascii(data + i, "to:", 3) == 0;
		int cc = end - i > 3 && str_ncasecmp_ascii(data + i, "cc:", 3) == 0;
		if (to || cc) {
			char *value = xstrndup(data + i + 3, end - i - 3);
			int rc = graph_address_list(value, list, n);
			free(value);
			if (rc < 0)
				return -1;
		}
		i = end;
	}
	return 0;
}

static int in_list(char *const *list, size_t n, const char *addr)
{
	for (size_t i = 0; i < n; i++)
		if (str_casecmp_ascii(list[i], addr) == 0)
			return 1;
	return 0;
}

static void free_list(char **list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(list[i]);
	free(list);
}

int graph_mime(const struct smtp_outgoing *o, struct buf *out, char *err, size_t errlen)
{
	const char *data = o->data;
	size_t len = o->len, hlen = 0;
	char **hdr = NULL, **bcc = NULL;
	size_t nhdr = 0, nbcc = 0;
	int rc = -1;

	for (size_t i = 0; i + 3 < len; i++) {
		if (!memcmp(data + i, "\r\n\r\n", 4)) {
			hlen = i + 2;
			break;
		}
	}
	if (hlen == 0) {
		snprintf(err, errlen, "the message has no header block");
		return -1;
	}
	if (header_recipients(data, hlen, &hdr, &nhdr) < 0) {
		snprintf(err, errlen, "its To or Cc header cannot be read, so Graph's recipients are not known");
		goto out;
	}
	for (size_t i = 0; i < nhdr; i++) {
		if (!in_list((char *const *)o->rcpt, o->nrcpt, hdr[i])) {
			snprintf(err, errlen, "its To or Cc header names a recipient (%zu of %zu) that its envelope does not; "
			         "Graph sends to every header recipient, so it is not sent", i + 1, nhdr);
			goto out;
		}
	}
	for (size_t i = 0; i < o->nrcpt; i++) {
		if (in_list(hdr, nhdr, o->rcpt[i]) || in_list(bcc, nbcc, o->rcpt[i]))
			continue;
		bcc = xrealloc(bcc, (nbcc + 1) * sizeof *bcc);
		bcc[nbcc++] = xstrdup(o->rcpt[i]);
	}
	if (nhdr + nbcc == 0) {
		snprintf(err, errlen, "the message has no recipient");
		goto out;
	}
	struct buf mime;
	buf_init(&mime);
	if (nbcc) {
		/* one address a line: no line can reach 998 octets */
		buf_adds(&mime, "Bcc:");
		for (size_t i = 0; i < nbcc; i++)
			buf_printf(&mime, " %s%s\r\n", bcc[i], i + 1 < nbcc ? "," : "");
	}
	size_t total = mime.len + len;
	if ((total + 2) / 3 * 4 > GRAPH_MAX_REQUEST) {
		snprintf(err, errlen, "the message is %zu bytes: over Graph's 4 MB request limit once in base64", total);
		buf_free(&mime);
		goto out;
	}
	buf_add(&mime, data, len);
	base64_append(out, (const unsigned char *)mime.data, mime.len);
	buf_free(&mime);
	rc = 0;
out:
	free_list(hdr, nhdr);
	free_list(bcc, nbcc);
	return rc;
}

/* ---- judging an answer ------------------------------------------------------- */

/* Graph's message, made safe for a log line: one line, at most 160
 * characters, controls dropped, every word containing '@' replaced. */
static void scrub(const char *in, char *out, size_t outlen)
{
	struct buf b;
	buf_init(&b);
	const char *p = in ? in : "";
	while (*p && b.len < 160) {
		if ((unsigned char)*p <= ' ' || *p == 0x7f) {
			if (b.len && b.data[b.len - 1] != ' ')
				buf_addc(&b, ' ');
			p++;
			continue;
		}
		size_t w = 0;
		while (p[w] && (unsigned char)p[w] > ' ' && p[w] != 0x7f)
			w++;
		if (memchr(p, '@', w))
			buf_adds(&b, "<address>");
		else
			buf_add(&b, p, w);
		p += w;
	}
	snprintf(out, outlen, "%s", str_trim((char *)buf_str(&b)));
	buf_free(&b);
}

static int parse_retry_after(const char *h, long long now)
{
	if (!h || !*h)
		return 0;
	long long secs;
	if (strspn(h, "0123456789") == strlen(h)) {
		secs = strlen(h) > 6 ? MAX_RETRY_AFTER : atoll(h);
	} else {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		const char *end = strptime(h, "%a, %d %b %Y %H:%M:%S GMT", &tm);
		if (!end || *end)
			return 0;
		secs = (long long)timegm(&tm) - now;
	}
	if (secs < 0)
		secs = 0;
	return (int)(secs > MAX_RETRY_AFTER ? MAX_RETRY_AFTER : secs);
}

enum graph_verdict graph_judge(long status, const char *body, size_t len, const char *retry_after_header,
                               long long now, int *retry_after, char *detail, size_t detaillen)
{
	char code[80] = "", text[200] = "", what[320];
	*retry_after = 0;
	detail[0] = '\0';
	if (status == 202)
		return GRAPH_SENT;
	if (body && len) {
		char jerr[64];
		struct json_object *j = jsonread_parse(body, len, jerr, sizeof jerr), *e = NULL;
		if (j && json_object_object_get_ex(j, "error", &e) && json_object_is_type(e, json_type_object)) {
			scrub(jsonread_str(e, "code", NULL), code, sizeof code);
			scrub(jsonread_str(e, "message", NULL), text, sizeof text);
		}
		json_object_put(j);
	}
	snprintf(what, sizeof what, "Graph: HTTP %ld%s%s%s%s", status, code[0] ? " " : "", code, text[0] ? ": " : "",
	         text);
	if (status >= 200 && status < 300) {
		snprintf(detail, detaillen, "Graph: HTTP %ld instead of 202 Accepted: not known to be sent", status);
		return GRAPH_TEMPORARY;
	}
	if (status == 401) {
		snprintf(detail, detaillen, "%s", what);
		return GRAPH_TOKEN;
	}
	if (status == 403) {
		if (!strcmp(code, "ErrorSendAsDenied"))
			snprintf(detail, detaillen, "%s; the From address ([smtp] from) must be the mailbox's own address or "
			         "one it may send as", what);
		else
			snprintf(detail, detaillen, "%s; grant the app registration the application permission Mail.Send (with "
			         "admin consent), and make the application access policy include this mailbox (Exchange "
			         "Online PowerShell: New-ApplicationAccessPolicy -AccessRight RestrictAccess -AppId CLIENT_ID "
			         "-PolicyScopeGroupId GROUP_WITH_THE_MAILBOX; check with Test-ApplicationAccessPolicy)", what);
		return GRAPH_REFUSED;
	}
	if (status == 404) {
		snprintf(detail, detaillen, "%s; Graph has no such mailbox: set [smtp] username to the mailbox's user "
		         "principal name", what);
		return GRAPH_REFUSED;
	}
	if (status == 408 || status == 429 || status >= 500 || status < 400) {
		*retry_after = parse_retry_after(retry_after_header, now);
		if (*retry_after)
			snprintf(detail, detaillen, "%s (asked to wait %d s)", what, *retry_after);
		else
			snprintf(detail, detaillen, "%s", what);
		return GRAPH_TEMPORARY;
	}
	snprintf(detail, detaillen, "%s", what);
	return GRAPH_PERMANENT;
}

/* ---- the session in a child process ------------------------------------------
 *
 * As smtp.c's: the requests run in a child, which writes each accepted
 * message's receipt and reports over a pipe; the parent takes the reports
 * when it likes, and never waits for Graph. */

struct wire {
	char kind;              /* 'S' accepted now, 'R' final outcome, 'T' token refused, 'E' no session, 'D' done */
	uint32_t index;
	int32_t outcome;
	int32_t retry_after;
	uint64_t rcpt_accepted;
	char detail[640];
};

struct graph_session {
	const struct graph_settings *s;   /* borrowed */
	struct smtp_outgoing *msgs;       /* borrowed */
	size_t n;
	size_t *jobs;           /* owned: the indexes offered */
	size_t njobs;
	char *token;            /* owned, wiped: the token the child starts with */
	pid_t pid;              /* 0 when none was started */
	int fd;                 /* the pipe's read end; -1 once the child is done */
	unsigned char *reported;      /* owned: per message, its 'S' was passed on */
	int over;
	int failed;
	char err[640];
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
		w = write(fd, &m, sizeof m);   /* under PIPE_BUF: one write */
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

static void set_outcome(struct smtp_outgoing *o, enum smtp_outcome out, int retry_after, const char *detail)
{
	o->outcome = out;
	o->retry_after = retry_after;
	o->rcpt_accepted = out == SMTP_SENT ? o->nrcpt : 0;
	snprintf(o->detail, sizeof o->detail, "%.*s", (int)sizeof o->detail - 1, out == SMTP_SENT ? "" : detail);
}

/* http.c's words for a failure before the request could have gone out. */
static int nothing_sent(const char *err)
{
	static const char *const before[] = { "host name not found", "connection refused", "certificate",
	                                      "TLS handshake", "nothing was sent", "must use https" };
	for (size_t i = 0; i < sizeof before / sizeof before[0]; i++)
		if (strstr(err, before[i]))
			return 1;
	return 0;
}

static char *send_path(const char *mailbox)
{
	char *m = http_urlencode(mailbox);
	char *path = xasprintf("/v1.0/users/%s/sendMail", m);
	free(m);
	return path;
}

static int open_http(const struct graph_settings *s, struct http **h, char *err, size_t errlen)
{
	struct http_settings hs = { .base_url = s->base_url, .ca_file = s->ca_file,
	                            .timeout = s->timeout > 0 ? s->timeout : DEFAULT_TIMEOUT, .max_body = 64 * 1024 };
	char herr[400];
	if (http_open(&hs, h, herr, sizeof herr) < 0) {
		snprintf(err, errlen, "Graph %s: %s", s->base_url, herr);
		return -1;
	}
	return 0;
}

/* In the child: every job, one request each. Reports go to fd. */
static void child_run(struct graph_session *gs, int fd, int receipt_fd)
{
	const struct graph_settings *s = gs->s;
	struct http *h = NULL;
	char err[640], detail[640];
	char *path = send_path(s->mailbox);
	int renewed = 0, stop = 0, wait_for = 0;
	const char *stop_why = NULL;
	char why[300];

	if (open_http(s, &h, err, sizeof err) < 0) {
		wire_send(fd, 'E', 0, NULL, err);
		free(path);
		return;
	}
	http_set_bearer(h, gs->token);
	for (size_t k = 0; k < gs->njobs; k++) {
		size_t i = gs->jobs[k];
		struct smtp_outgoing *o = &gs->msgs[i];
		if (stop) {
			set_outcome(o, SMTP_TEMPORARY, wait_for, stop_why);
			wire_send(fd, 'R', i, o, NULL);
			continue;
		}
		struct buf body;
		buf_init(&body);
		if (graph_mime(o, &body, detail, sizeof detail) < 0) {
			set_outcome(o, SMTP_PERMANENT, 0, detail);
			wire_send(fd, 'R', i, o, NULL);
			buf_free(&body);
			continue;
		}
		for (;;) {
			struct http_response resp;
			char herr[400];
			if (http_request(h, "POST", path, "text/plain", body.data, body.len, &resp, herr, sizeof herr) < 0) {
				if (nothing_sent(herr)) {
					snprintf(err, sizeof err, "Graph: %s", herr);
					wire_send(fd, 'E', 0, NULL, err);
					stop = 2;
					break;
				}
				snprintf(detail, sizeof detail, "Graph: %s; it may have been taken, so it is tried again (a "
				         "duplicate is possible)", herr);
				set_outcome(o, SMTP_TEMPORARY, 0, detail);
				wire_send(fd, 'R', i, o, NULL);
				snprintf(why, sizeof why, "not offered: the request before it failed (%.200s)", herr);
				stop_why = why;
				stop = 1;
				break;
			}
			int ra = 0;
			long status = resp.status;
			enum graph_verdict v = graph_judge(status, resp.body, resp.len, resp.retry_after, (long long)time(NULL),
			                                   &ra, detail, sizeof detail);
			http_response_free(&resp);
			if (v == GRAPH_TOKEN && !renewed) {
				/* Forget it here and in the parent's source; ask once more. */
				const char *tok;
				renewed = 1;
				wire_send(fd, 'T', 0, NULL, NULL);
				oauth_forget(s->oauth);
				tok = oauth_token(s->oauth, (long long)time(NULL), TOKEN_MIN_VALID, NULL, err, sizeof err);
				if (!tok) {
					snprintf(detail, sizeof detail, "Graph refused the token (401) and no new one could be had: %.500s",
					         err);
					wire_send(fd, 'E', 0, NULL, detail);
					stop = 2;
					break;
				}
				http_set_bearer(h, tok);
				continue;
			}
			if (v == GRAPH_TOKEN) {
				snprintf(err, sizeof err, "%.400s, with a token just issued: check [oauth] tenant and client_id, and "
				         "that the token is for Microsoft Graph", detail);
				wire_send(fd, 'E', 0, NULL, err);
				stop = 2;
			} else if (v == GRAPH_REFUSED) {
				wire_send(fd, 'E', 0, NULL, detail);
				stop = 2;
			} else if (v == GRAPH_SENT) {
				set_outcome(o, SMTP_SENT, 0, "");
				if (receipt_fd >= 0 && o->receipt) {
					ssize_t w;
					do
						w = write(receipt_fd, o->receipt, strlen(o->receipt));
					while (w < 0 && errno == EINTR);
				}
				wire_send(fd, 'S', i, o, NULL);
			} else {
				set_outcome(o, v == GRAPH_PERMANENT ? SMTP_PERMANENT : SMTP_TEMPORARY, ra, detail);
				wire_send(fd, 'R', i, o, NULL);
				if (v == GRAPH_TEMPORARY) {
					snprintf(why, sizeof why, "not offered: Graph turned the one before it away (HTTP %ld)",
					         status);
					stop_why = why;
					wait_for = ra;
					stop = 1;
				}
			}
			break;
		}
		explicit_bzero(body.data, body.len);
		buf_free(&body);
		if (stop == 2)
			break;
	}
	http_close(h);
	free(path);
}

static void session_free(struct graph_session *gs)
{
	if (!gs)
		return;
	if (gs->fd >= 0)
		close(gs->fd);
	if (gs->token) {
		explicit_bzero(gs->token, strlen(gs->token));
		free(gs->token);
	}
	free(gs->jobs);
	free(gs->reported);
	free(gs);
}

static void fail_unreported(struct graph_session *gs, const char *why)
{
	for (size_t i = 0; i < gs->n; i++) {
		struct smtp_outgoing *o = &gs->msgs[i];
		if (gs->reported[i] || o->outcome == SMTP_SENT || (o->outcome == SMTP_PERMANENT && o->detail[0]))
			continue;
		set_outcome(o, SMTP_TEMPORARY, o->retry_after, why);
	}
}

static int session_fork(struct graph_session *gs, int receipt_fd, char *err, size_t errlen)
{
	int fds[2];
	if (pipe2(fds, O_CLOEXEC) < 0) {
		snprintf(err, errlen, "cannot start the Graph session: %s", strerror(errno));
		return -1;
	}
	(void)fcntl(fds[0], F_SETPIPE_SZ, 1 << 20);
	fflush(NULL);
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		snprintf(err, errlen, "cannot start the Graph session: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (pid == 0) {
		close(fds[0]);
		/* as for SMTP: a message taken after the relay died could not be recorded */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(1);
		signal(SIGTERM, SIG_IGN);
		signal(SIGINT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		int t = gs->s->timeout > 0 ? gs->s->timeout : DEFAULT_TIMEOUT;
		alarm((unsigned)(t * (4 + 2 * gs->njobs)));
		child_run(gs, fds[1], receipt_fd);
		wire_send(fds[1], 'D', 0, NULL, NULL);
		/* The child's copy: its token wiped, and nothing left for valgrind
		 * to find unreachable once _exit (noreturn) lets the compiler drop
		 * the last pointer to it. */
		session_free(gs);
		_exit(0);
	}
	close(fds[1]);
	gs->pid = pid;
	gs->fd = fds[0];
	return 0;
}

int graph_session_start(const struct graph_settings *s, struct smtp_outgoing *msgs, size_t n, int receipt_fd,
                        struct graph_session **out, char *err, size_t errlen)
{
	struct graph_session *gs = xcalloc(1, sizeof *gs);
	*out = NULL;
	gs->s = s;
	gs->fd = -1;
	gs->msgs = msgs;
	gs->n = n;
	gs->reported = xcalloc(n ? n : 1, 1);
	gs->jobs = xcalloc(n ? n : 1, sizeof *gs->jobs);
	for (size_t i = 0; i < n; i++)
		set_outcome(&msgs[i], SMTP_TEMPORARY, 0, "");
	if (!s->base_url || !s->mailbox || !s->oauth) {
		snprintf(err, errlen, "Graph: no URL, mailbox or token source is configured");
		goto fail;
	}
	/* What SMTP would refuse is refused here too, for good. */
	for (size_t i = 0; i < n; i++) {
		struct smtp_outgoing *o = &msgs[i];
		int eightbit, ok = o->nrcpt > 0 && o->rcpt != NULL;
		char detail[256];
		if (!ok)
			snprintf(detail, sizeof detail, "the message has no recipient");
		for (size_t k = 0; ok && k < o->nrcpt; k++)
			if (!smtp_address_ok(o->rcpt[k], 0)) {
				snprintf(detail, sizeof detail, "recipient %zu of %zu is not a usable address", k + 1, o->nrcpt);
				ok = 0;
			}
		if (ok && smtp_message_check(o->data, o->len, &eightbit, detail, sizeof detail) < 0)
			ok = 0;
		if (ok)
			gs->jobs[gs->njobs++] = i;
		else
			set_outcome(o, SMTP_PERMANENT, 0, detail);
	}
	if (gs->njobs == 0) {
		gs->over = 1;
		*out = gs;
		return 0;
	}
	char terr[400];
	const char *tok = oauth_token(s->oauth, (long long)time(NULL), TOKEN_MIN_VALID, NULL, terr, sizeof terr);
	if (!tok) {
		snprintf(err, errlen, "Graph: no access token: %s", terr);
		goto fail;
	}
	gs->token = xstrdup(tok);
	if (session_fork(gs, receipt_fd, err, errlen) < 0)
		goto fail;
	*out = gs;
	return 0;
fail:
	fail_unreported(gs, err);
	session_free(gs);
	return -1;
}

static void session_reap(struct graph_session *gs, int done)
{
	int status = 0;
	close(gs->fd);
	gs->fd = -1;
	while (waitpid(gs->pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!done) {
		char why[300];
		snprintf(why, sizeof why, "Graph %s: the session %s; the messages it had not reported will be tried again",
		         gs->s->base_url, WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM ? "took too long and was cut off"
		                                                                              : "broke off");
		log_warn("%s", why);
		for (size_t k = 0; k < gs->njobs; k++) {
			size_t i = gs->jobs[k];
			if (!gs->reported[i] && gs->msgs[i].outcome != SMTP_PERMANENT)
				set_outcome(&gs->msgs[i], SMTP_TEMPORARY, 0, why);
		}
	}
	gs->over = 1;
}

int graph_session_take(struct graph_session *gs, int wait, smtp_sent_cb on_sent, void *arg)
{
	size_t *accepted = NULL, naccepted = 0;
	int done = 0, broke = 0;

	if (gs->over)
		return 1;
	accepted = xcalloc(gs->n ? gs->n : 1, sizeof *accepted);
	for (;;) {
		struct pollfd p = { gs->fd, POLLIN, 0 };
		int ready = poll(&p, 1, wait ? -1 : 0);
		if (ready < 0 && errno == EINTR)
			continue;
		if (ready <= 0)
			break;
		struct wire m;
		if (wire_read(gs->fd, &m) < 0) {
			broke = 1;
			break;
		}
		wait = 0;
		if (m.kind == 'T') {
			oauth_forget(gs->s->oauth);   /* the next session asks for a new one */
			continue;
		}
		if (m.kind == 'E') {
			snprintf(gs->err, sizeof gs->err, "%s", m.detail);
			gs->failed = 1;
			continue;
		}
		if (m.kind == 'D') {
			done = 1;
			break;
		}
		if (m.index >= gs->n || gs->reported[m.index])
			continue;
		struct smtp_outgoing *o = &gs->msgs[m.index];
		o->outcome = (enum smtp_outcome)m.outcome;
		o->retry_after = m.retry_after;
		o->rcpt_accepted = (size_t)m.rcpt_accepted;
		snprintf(o->detail, sizeof o->detail, "%.*s", (int)sizeof o->detail - 1, m.detail);
		if (m.kind == 'S') {
			gs->reported[m.index] = 1;
			accepted[naccepted++] = m.index;
		}
	}
	if (naccepted && on_sent)
		on_sent(arg, accepted, naccepted, gs->msgs);
	free(accepted);
	if (done || broke)
		session_reap(gs, done);
	return gs->over;
}

int graph_session_end(struct graph_session *gs, char *err, size_t errlen)
{
	int rc = 0;
	if (!gs)
		return 0;
	while (!gs->over)
		graph_session_take(gs, 1, NULL, NULL);
	if (gs->failed) {
		snprintf(err, errlen, "%s", gs->err);
		fail_unreported(gs, gs->err);
		rc = -1;
	}
	session_free(gs);
	return rc;
}

int graph_send(const struct graph_settings *s, struct smtp_outgoing *msgs, size_t n, char *err, size_t errlen)
{
	struct graph_session *gs;
	if (graph_session_start(s, msgs, n, -1, &gs, err, errlen) < 0)
		return -1;
	return graph_session_end(gs, err, errlen);
}

int graph_check(const struct graph_settings *s, char *err, size_t errlen)
{
	/* '*' is not in base64's alphabet: this body can never be a message. */
	static const char probe[] = "*relay-check*";
	struct http *h = NULL;
	struct http_response resp;
	char terr[400], herr[400], detail[512];
	int rc = -1, ra;

	if (!s->base_url || !s->mailbox || !s->oauth) {
		snprintf(err, errlen, "Graph: no URL, mailbox or token source is configured");
		return -1;
	}
	const char *tok = oauth_token(s->oauth, (long long)time(NULL), 60, NULL, terr, sizeof terr);
	if (!tok) {
		snprintf(err, errlen, "no access token for Graph: %s", terr);
		return -1;
	}
	if (open_http(s, &h, err, errlen) < 0)
		return -1;
	http_set_bearer(h, tok);
	char *path = send_path(s->mailbox);
	if (http_request(h, "POST", path, "text/plain", probe, sizeof probe - 1, &resp, herr, sizeof herr) < 0) {
		snprintf(err, errlen, "Graph: %s", herr);
		goto out;
	}
	enum graph_verdict v = graph_judge(resp.status, resp.body, resp.len, resp.retry_after, (long long)time(NULL), &ra,
	                                   detail, sizeof detail);
	if (resp.status == 400 || v == GRAPH_SENT) {
		rc = 0;
	} else if (v == GRAPH_TOKEN) {
		oauth_forget(s->oauth);
		snprintf(err, errlen, "%s: Graph refused a token just issued; check [oauth] tenant and client_id, and that "
		         "the app registration has the application permission Mail.Send with admin consent", detail);
	} else {
		snprintf(err, errlen, "%s", detail);
	}
	http_response_free(&resp);
out:
	free(path);
	http_close(h);
	return rc;
}
