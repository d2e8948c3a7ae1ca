/* smtp_esmtp.c: one SMTP session per batch of messages, through libESMTP 1.1.0
 * (a login with an OAuth2 token is handed to smtp_etpan.c instead).
 *
 * libESMTP drives the protocol; this file decides what counts as sent and
 * keeps the password safe. What libESMTP does not do for us, and how we make
 * up for it (read in its source, protocol.c, smtp-tls.c, smtp-auth.c):
 *
 * - smtp_start_session() returns 1 when the session ran but nothing was
 *   sent: each message is judged from its own MAIL, RCPT and DATA replies.
 * - connect() has no timeout (about two minutes on a silent network): we
 *   probe the address ourselves with one and hand libESMTP the address that
 *   answered.
 * - Without our own SSL_CTX it trusts $HOME/.config/libesmtp/ca.pem or the
 *   system store, checks the name against the resolver's canonical name and
 *   frees a context shared by every session. We pass a context per session
 *   that verifies the chain (ca_file or the system store) and the configured
 *   host name during the handshake; its own name check, which cannot match
 *   an IP address, is answered by our event callback with our own check.
 *   (Its checks run after the handshake and refuse only because the event
 *   callback leaves *ok at 0; its name check reads DNS names and the CN of
 *   the host given to smtp_set_server, never IP addresses; it sends no SNI.)
 * - OpenSSL's reasons ("self-signed certificate", "hostname mismatch") are
 *   not the words used for IMAP and HTTPS: the refused chain goes through
 *   tls_verify_chain() for the message, so all three say the same.
 * - A refused AUTH (or a server offering none) does not stop it: it carries
 *   on to MAIL FROM unauthenticated. Our protocol monitor sees every command
 *   before it is written; with credentials configured, a MAIL FROM before a
 *   235 reply makes us shut the socket down, so no message leaves.
 * - It dot-stuffs and ends the data itself (DATA), or sends it as is in
 *   BDAT chunks when the server offers CHUNKING (Postfix does): the caller
 *   never dot-stuffs. It adds Date, From and a Message-Id naming our host
 *   when they are missing: smtp_message_check() insists the message has its own.
 * - Under TLS 1.3 its loop can wait for a reply to a command it has not sent
 *   yet (see smtp_tls_context, smtp_tls.c): we speak TLS 1.2. */
#include "smtp.h"
#include "smtp_p.h"
#include "smtp_tls.h"
#include "session.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
/* auth-client.h first: libesmtp.h declares smtp_auth_set_context only then;
 * openssl/ssl.h first: likewise for smtp_starttls_set_ctx. */
#include <auth-client.h>
#include <libesmtp.h>

#include "log.h"
#include "tlsverify.h"
#include "util.h"

/* Shut the connection so that the command in libESMTP's buffer never leaves. */
static void cut_line(struct watch *w)
{
	if (w->fd >= 0)
		shutdown(w->fd, SHUT_RDWR);
	w->blocked = 1;
}

static void watch_reply_line(struct watch *w)
{
	char *l = w->line;
	int code;

	if (w->linelen < 4 || l[0] < '1' || l[0] > '5' || l[1] < '0' || l[1] > '9' || l[2] < '0' || l[2] > '9' ||
	    l[3] == '-')
		return; /* not a reply, or not its last line */
	code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	if (code >= 400 && strcmp(w->phase, "QUIT") != 0) {
		smtp_reply_set(&w->refusal, w->refusal_text, sizeof w->refusal_text, code, l + 4);
		snprintf(w->refusal_phase, sizeof w->refusal_phase, "%s", w->phase);
	}
	if (!w->awaiting_auth)
		return;
	if (code == 235) {
		w->auth_ok = 1;
		w->awaiting_auth = 0;
	} else if (code != 334) {
		w->auth_refused = 1;
		w->awaiting_auth = 0;
		smtp_reply_set(&w->auth_reply, w->auth_text, sizeof w->auth_text, code, l + 4);
	}
}

/* libESMTP shows us every command before writing it and every reply after
 * reading it (never the message data: it turns the monitor off for that).
 * A write may hold a password (AUTH PLAIN): only command names are looked at. */
static void monitor_cb(const char *buf, int len, int writing, void *arg)
{
	struct watch *w = arg;
	static const char *const verbs[] = {
		"EHLO", "HELO", "STARTTLS", "AUTH", "MAIL", "RCPT", "DATA", "RSET", "QUIT",
	};
	size_t i, k;

	if (len <= 0)
		return;
	if (writing == SMTP_CB_WRITING) {
		/* MAIL FROM may share a buffer with other commands when pipelining. */
		if (w->want_auth && !w->auth_ok &&
		    ((len >= 5 && str_ncasecmp_ascii(buf, "MAIL ", 5) == 0) ||
		     memmem(buf, (size_t)len, "\r\nMAIL FROM:", 12) != NULL))
			cut_line(w);
		for (i = 0; i < sizeof verbs / sizeof verbs[0]; i++) {
			k = strlen(verbs[i]);
			if ((size_t)len > k && str_ncasecmp_ascii(buf, verbs[i], k) == 0 &&
			    (buf[k] == ' ' || buf[k] == '\r'))
				break;
		}
		if (i == sizeof verbs / sizeof verbs[0])
			return; /* an AUTH continuation, or data */
		snprintf(w->phase, sizeof w->phase, "%s", verbs[i]);
		if (strcmp(verbs[i], "AUTH") == 0) {
			w->auth_sent = 1;
			w->awaiting_auth = 1;
			if (!w->tls_ok)
				cut_line(w); /* never reached: TLS is required with credentials */
		}
		return;
	}
	if (writing != SMTP_CB_READING)
		return;
	for (i = 0; i < (size_t)len; i++) {
		char c = buf[i];

		if (c == '\n') {
			w->line[w->linelen] = '\0';
			if (w->linelen > 0 && w->line[w->linelen - 1] == '\r')
				w->line[--w->linelen] = '\0';
			watch_reply_line(w);
			w->linelen = 0;
		} else if (w->linelen + 1 < sizeof w->line) {
			w->line[w->linelen++] = c;
		}
	}
}

static void judge_job(struct job *j);

/* The server took a message: report it now, so that the caller can commit it
 * before the next one is offered. A crash then duplicates at most this one. */
static void message_sent(struct watch *w, smtp_message_t m)
{
	for (size_t i = 0; i < w->njobs; i++) {
		struct job *j = &w->jobs[i];
		if (j->msg != m || j->reported)
			continue;
		judge_job(j);
		if (j->out->outcome == SMTP_SENT && w->child) {
			j->reported = 1;
			session_child_sent(w->child, (size_t)(j->out - w->msgs));
		}
		return;
	}
}

static void event_cb(smtp_session_t session, int event, void *arg, ...)
{
	struct watch *w = arg;
	va_list ap;
	int *ok;
	SSL *ssl;

	(void)session;
	va_start(ap, arg);
	switch (event) {
	case SMTP_EV_CONNECT:
		w->connected = 1;
		break;
	case SMTP_EV_STARTTLS_OK:
		ssl = va_arg(ap, SSL *);
		w->fd = SSL_get_fd(ssl);
		w->tls_ok = 1;
		break;
	case SMTP_EV_EXTNA_STARTTLS:
		w->no_starttls = 1;
		break;
	case SMTP_EV_INVALID_PEER_CERTIFICATE:
		/* Cannot happen with SSL_VERIFY_PEER (the handshake fails first). */
		w->verify_error = va_arg(ap, long);
		ok = va_arg(ap, int *);
		*ok = 0;
		break;
	case SMTP_EV_NO_PEER_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		w->verify_error = X509_V_ERR_UNSPECIFIED;
		break;
	case SMTP_EV_WRONG_PEER_CERTIFICATE:
		/* libESMTP compares with the canonical name (or the bare IP we
		 * gave it); the configured host name is what counts. */
		ok = va_arg(ap, int *);
		(void)va_arg(ap, const char *);
		ssl = va_arg(ap, SSL *);
		*ok = smtp_tls_host_matches(w, ssl);
		if (!*ok)
			w->wrong_name = 1;
		break;
	case SMTP_EV_WEAK_CIPHER:
		(void)va_arg(ap, int);
		ok = va_arg(ap, int *);
		*ok = 0;
		w->weak_cipher = 1;
		break;
	case SMTP_EV_NO_CLIENT_CERTIFICATE:
		ok = va_arg(ap, int *);
		*ok = 0;
		w->client_cert = 1;
		break;
	case SMTP_EV_UNUSABLE_CLIENT_CERTIFICATE:
	case SMTP_EV_UNUSABLE_CA_LIST:
		w->client_cert = 1;
		break;
	case SMTP_EV_EXTNA_8BITMIME:
		w->no_8bitmime = 1;
		break;
	case SMTP_EV_MESSAGESENT:
		message_sent(w, va_arg(ap, smtp_message_t));
		break;
	default:
		break;
	}
	va_end(ap);
}

/* connect() in libESMTP waits as long as the kernel does. Try each address
 * with our timeout and give libESMTP the IPv4 address that answered (it
 * cannot take an IPv6 literal: then the name, and it resolves alike). */
static int probe(const struct watch *w, char *server, size_t serverlen, char *err, size_t errlen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char port[8], addr[INET6_ADDRSTRLEN];
	const char *why = "no address";
	int rc, fd;

	snprintf(port, sizeof port, "%d", w->port);
	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	rc = getaddrinfo(w->s->host, port, &hints, &res);
	if (rc != 0) {
		snprintf(err, errlen, "cannot find SMTP host %s: %s", w->s->host, gai_strerror(rc));
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof soerr;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			why = strerror(errno);
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			why = strerror(errno);
			close(fd);
			continue;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do
			rc = poll(&pfd, 1, w->timeout * 1000);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			why = "no answer (timed out)";
		} else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			why = strerror(errno);
		} else if (soerr != 0) {
			why = strerror(soerr);
		} else {
			close(fd);
			if (ai->ai_family == AF_INET &&
			    inet_ntop(AF_INET, &((struct sockaddr_in *)ai->ai_addr)->sin_addr, addr, sizeof addr))
				snprintf(server, serverlen, "%s:%d", addr, w->port);
			else
				snprintf(server, serverlen, "%s:%d", w->s->host, w->port);
			freeaddrinfo(res);
			return 0;
		}
		close(fd);
	}
	snprintf(err, errlen, "cannot connect to SMTP host %s port %d: %s", w->s->host, w->port, why);
	freeaddrinfo(res);
	return -1;
}

static int interact_cb(auth_client_request_t req, char **result, int fields, void *arg)
{
	const struct smtp_settings *s = arg;
	int i;

	for (i = 0; i < fields; i++) {
		if (req[i].flags & AUTH_USER)
			result[i] = (char *)s->username;
		else if (req[i].flags & AUTH_PASS)
			result[i] = (char *)s->password;
		else
			return 0; /* a realm or the like: we have none */
	}
	return 1;
}

/* Hands libESMTP the whole message at once; NULL len means start again. */
static const char *data_cb(void **ctx, int *len, void *arg)
{
	struct job *j = arg;

	(void)ctx; /* libESMTP free()s whatever we put there */
	if (!len) {
		j->given = 0;
		return NULL;
	}
	if (j->abort) {
		errno = ECANCELED; /* makes libESMTP drop the line before the final dot */
		*len = 0;
		return NULL;
	}
	if (j->given) {
		*len = 0;
		return NULL;
	}
	j->given = 1;
	*len = (int)j->out->len;
	return j->out->data;
}

/* Why the session never reached MAIL FROM, in words a person can act on. */
static void session_failure(const struct watch *w, char *err, size_t errlen)
{
	const char *host = w->s->host;
	char reply[200], lib[128], why[512];
	int e = smtp_errno();

	if (!smtp_strerror(e, lib, sizeof lib))
		snprintf(lib, sizeof lib, "error %d", e);
	if (!w->connected) {
		snprintf(err, errlen, "cannot connect to SMTP host %s port %d: %s", host, w->port, lib);
	} else if (w->verify_error != 0 && w->nchain > 0 &&
	           tls_verify_chain((const unsigned char *const *)w->chain, w->chainlen, w->nchain, host, w->s->ca_file, why,
	                            sizeof why) < 0) {
		/* OpenSSL refused it; GnuTLS says why in the words used for IMAP. */
		snprintf(err, errlen, "SMTP host %s port %d: %s; nothing was sent", host, w->port, why);
	} else if (w->verify_error != 0) {
		snprintf(err, errlen,
		         "the TLS certificate of SMTP host %s was not accepted: %s "
		         "(trusting %s); nothing was sent",
		         host, X509_verify_cert_error_string(w->verify_error),
		         w->s->ca_file ? w->s->ca_file : "the system CA store");
	} else if (w->wrong_name) {
		snprintf(err, errlen,
		         "the TLS certificate of SMTP host %s is not issued for that name; "
		         "nothing was sent",
		         host);
	} else if (w->weak_cipher) {
		snprintf(err, errlen, "SMTP host %s offered only a weak TLS cipher; nothing was sent", host);
	} else if (w->client_cert) {
		snprintf(err, errlen,
		         "libESMTP found an unusable client certificate or CA file under "
		         "$HOME/.config/libesmtp (files there must be the user's own, mode 0600)");
	} else if (w->no_starttls) {
		snprintf(err, errlen,
		         "SMTP host %s port %d does not offer STARTTLS; refusing to go on "
		         "without TLS",
		         host, w->port);
	} else if (strcmp(w->phase, "STARTTLS") == 0 && !w->tls_ok && e == SMTP_ERR_CLIENT_ERROR) {
		snprintf(err, errlen, "the TLS handshake with SMTP host %s failed; nothing was sent", host);
	} else if (w->auth_refused) {
		smtp_describe(&w->auth_reply, "AUTH", reply, sizeof reply);
		snprintf(err, errlen,
		         "SMTP host %s refused the login: %s; check the user name and "
		         "password",
		         host, reply);
	} else if (w->want_auth && !w->auth_sent && w->blocked) {
		snprintf(err, errlen,
		         "SMTP host %s offered no login this client can use (PLAIN, LOGIN "
		         "or CRAM-MD5) after STARTTLS; nothing was sent",
		         host);
	} else if (w->no_8bitmime) {
		snprintf(err, errlen, "SMTP host %s does not accept 8-bit messages (no 8BITMIME)", host);
	} else if (w->refusal.code != 0) {
		smtp_describe(&w->refusal, w->refusal_phase, reply, sizeof reply);
		snprintf(err, errlen, "SMTP host %s refused the session: %s", host, reply);
	} else if (e == SMTP_ERR_DROPPED_CONNECTION) {
		snprintf(err, errlen,
		         "SMTP host %s closed the connection or did not answer within %d s "
		         "(at %s)",
		         host, w->timeout, w->phase);
	} else {
		snprintf(err, errlen, "the session with SMTP host %s ended at %s before any message: %s", host, w->phase,
		         lib);
	}
}

static void copy_reply(struct smtp_reply *r, const smtp_status_t *st)
{
	memset(r, 0, sizeof *r);
	if (!st)
		return;
	r->code = st->code;
	r->enh_class = st->enh_class;
	r->enh_subject = st->enh_subject;
	r->enh_detail = st->enh_detail;
	r->text = st->text;
}

static void judge_job(struct job *j)
{
	struct smtp_outgoing *o = j->out;
	struct smtp_reply mail, data, *rcpt;
	size_t i;

	rcpt = xcalloc(o->nrcpt ? o->nrcpt : 1, sizeof *rcpt);
	copy_reply(&mail, smtp_reverse_path_status(j->msg));
	copy_reply(&data, smtp_message_transfer_status(j->msg));
	for (i = 0; i < o->nrcpt; i++)
		copy_reply(&rcpt[i], smtp_recipient_status(j->rcpt[i]));
	o->outcome = smtp_judge(&mail, rcpt, o->nrcpt, &data, &o->rcpt_accepted, o->detail, sizeof o->detail);
	free(rcpt);
}

/* In the session of a token login: a message taken, reported as libESMTP's
 * are (message_sent). */
static void etpan_taken(void *arg, struct smtp_outgoing *o)
{
	struct watch *w = arg;

	for (size_t i = 0; i < w->njobs; i++) {
		if (w->jobs[i].out == o && !w->jobs[i].reported && w->child) {
			w->jobs[i].reported = 1;
			session_child_sent(w->child, (size_t)(o - w->msgs));
		}
	}
}

/* A login with a token: libetpan's client carries the session (smtp_etpan.c,
 * for why). A check (one job that never gives its data) only logs in. */
static int run_etpan(struct watch *w, struct job *jobs, size_t n, char *err, size_t errlen)
{
	int check = n == 1 && jobs[0].abort;
	struct smtp_outgoing **outs = xcalloc(n ? n : 1, sizeof *outs);
	int rc;

	for (size_t i = 0; i < n; i++)
		outs[i] = jobs[i].out;
	rc = smtp_etpan_session(w->s, w->port, w->timeout, outs, check ? 0 : n, etpan_taken, w, err, errlen);
	free(outs);
	if (rc == 0) {
		w->tls_ok = w->s->security == NET_SECURITY_STARTTLS;
		w->auth_ok = 1;
	}
	return rc;
}

/* Runs one session over jobs[0..n-1] (n >= 1). Returns 0 when it reached
 * MAIL FROM for the first message, else -1 with err. */
int smtp_run_session(struct watch *w, struct job *jobs, size_t n, int require_all, char *err, size_t errlen)
{
	static const int phases[] = {
		Timeout_GREETING, Timeout_ENVELOPE, Timeout_DATA, Timeout_TRANSFER, Timeout_DATA2,
	};
	const struct smtp_settings *s = w->s;
	smtp_session_t session = NULL;
	auth_context_t auth = NULL;
	SSL_CTX *ctx = NULL;
	char server[INET6_ADDRSTRLEN + 300];
	size_t i, k;
	int rc = -1;

	if (s->username && s->token)
		return run_etpan(w, jobs, n, err, errlen);
	if (probe(w, server, sizeof server, err, errlen) < 0)
		return -1;
	session = smtp_create_session();
	if (!session || !smtp_set_server(session, server)) {
		snprintf(err, errlen, "libESMTP cannot create a session");
		goto fail;
	}
	if (s->helo && !smtp_set_hostname(session, s->helo)) {
		snprintf(err, errlen, "libESMTP refused the HELO name");
		goto fail;
	}
	for (i = 0; i < sizeof phases / sizeof phases[0]; i++)
		smtp_set_timeout(session, phases[i] | Timeout_OVERRIDE_RFC2822_MINIMUM, w->timeout * 1000L);
	if (s->security == NET_SECURITY_STARTTLS) {
		ctx = smtp_tls_context(w, err, errlen);
		if (!ctx)
			goto fail;
		smtp_starttls_set_ctx(session, ctx); /* takes its own reference */
		smtp_starttls_enable(session, Starttls_REQUIRED);
	} else {
		smtp_starttls_enable(session, Starttls_DISABLED);
	}
	if (w->want_auth) {
		auth = auth_create_context();
		if (!auth) {
			snprintf(err, errlen, "libESMTP cannot create a login context");
			goto fail;
		}
		/* PLAIN and LOGIN are off unless asked for; TLS is required above. */
		auth_set_mechanism_flags(auth, AUTH_PLUGIN_PLAIN, 0);
		auth_set_interact_cb(auth, interact_cb, (void *)s);
		smtp_auth_set_context(session, auth);
	}
	smtp_set_eventcb(session, event_cb, w);
	smtp_set_monitorcb(session, monitor_cb, w, 0);
	if (require_all)
		smtp_option_require_all_recipients(session, 1);

	for (i = 0; i < n; i++) {
		struct job *j = &jobs[i];
		int eightbit = 0;
		char tmp[8];

		j->msg = smtp_add_message(session);
		if (!j->msg || !smtp_set_reverse_path(j->msg, j->out->mail_from) ||
		    !smtp_set_messagecb(j->msg, data_cb, j)) {
			snprintf(err, errlen, "libESMTP cannot add a message");
			goto fail;
		}
		j->rcpt = xcalloc(j->out->nrcpt ? j->out->nrcpt : 1, sizeof *j->rcpt);
		for (k = 0; k < j->out->nrcpt; k++) {
			j->rcpt[k] = smtp_add_recipient(j->msg, j->out->rcpt[k]);
			if (!j->rcpt[k]) {
				snprintf(err, errlen, "libESMTP cannot add a recipient");
				goto fail;
			}
		}
		if (!j->abort && smtp_message_check(j->out->data, j->out->len, &eightbit, tmp, sizeof tmp) == 0 && eightbit)
			smtp_8bitmime_set_body(j->msg, E8bitmime_8BITMIME);
	}

	log_debug("smtp: session with %s port %d for %zu message(s)", s->host, w->port, n);
	smtp_start_session(session); /* its result says nothing about delivery */
	if (smtp_reverse_path_status(jobs[0].msg)->code == 0) {
		session_failure(w, err, errlen);
		goto fail;
	}
	for (i = 0; i < n; i++)
		if (!jobs[i].reported)
			judge_job(&jobs[i]);
	rc = 0;
fail:
	if (session)
		smtp_destroy_session(session);
	if (auth)
		auth_destroy_context(auth);
	SSL_CTX_free(ctx);
	smtp_tls_forget_chain(w);
	ERR_clear_error(); /* libESMTP leaves OpenSSL's error queue as it was */
	return rc;
}
