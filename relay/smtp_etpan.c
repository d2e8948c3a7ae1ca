/* smtp_etpan.c: SMTP sessions that log in with an OAuth2 token (SASL
 * XOAUTH2), through libetpan's SMTP client (smtp_p.h).
 *
 * libESMTP 1.1.0 cannot carry a token: its SASL mechanisms are plug-ins
 * loaded from its own directory only, and it builds an initial response in a
 * 2,048-octet buffer. libetpan has the two-step XOAUTH2 that long tokens
 * need, reads every reply with its code and text (so each message is judged
 * from its own replies, as smtp_esmtp.c does), and dot-stuffs the data. As for
 * IMAP (imap.c), its GnuTLS build verifies nothing: the chain and host name
 * go through tls_verify_chain() before the token is sent, SNI is set in the
 * handshake callback, and bytes buffered in clear before the handshake end
 * the session (the STARTTLS injection attack). */
#include "smtp_p.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <libetpan/libetpan.h>

#include "log.h"
#include "tlsverify.h"
#include "util.h"

/* Exported by libetpan 1.9.4 (its XOAUTH2 code uses them), not declared by
 * its installed headers: a command of our own (MAIL FROM with BODY=8BITMIME,
 * the empty answer to a refusal in a 334) and its reply. */
int mailsmtp_send_command(mailsmtp *f, char *command);
int mailsmtp_send_command_private(mailsmtp *f, char *command);
int mailsmtp_read_response(mailsmtp *session);

struct etpan {
	const struct smtp_settings *s;
	int port;
	int timeout;
	mailsmtp *smtp; /* owned */
	int broken;     /* the connection is gone: no more commands */
};

static int is_ip_literal(const char *host)
{
	unsigned char buf[16];

	return inet_pton(AF_INET, host, buf) == 1 || inet_pton(AF_INET6, host, buf) == 1;
}

/* Connects with a deadline per address; a blocking socket (GnuTLS's
 * handshake timeout works only on one), or -1 with why. */
static int connect_host(const char *host, int port, int timeout, char *why, size_t whylen)
{
	struct addrinfo hints, *res = NULL, *ai;
	char portstr[16];
	int fd = -1, rc;

	memset(&hints, 0, sizeof hints);
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	snprintf(portstr, sizeof portstr, "%d", port);
	rc = getaddrinfo(host, portstr, &hints, &res);
	if (rc != 0) {
		snprintf(why, whylen, "%s", gai_strerror(rc));
		return -1;
	}
	snprintf(why, whylen, "no address");
	for (ai = res; ai; ai = ai->ai_next) {
		struct pollfd pfd;
		int soerr = 0;
		socklen_t sl = sizeof soerr;

		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
		if (fd < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
			continue;
		}
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) < 0 && errno != EINPROGRESS) {
			snprintf(why, whylen, "%s", strerror(errno));
			goto next;
		}
		pfd.fd = fd;
		pfd.events = POLLOUT;
		pfd.revents = 0;
		do
			rc = poll(&pfd, 1, timeout * 1000);
		while (rc < 0 && errno == EINTR);
		if (rc == 0) {
			snprintf(why, whylen, "no answer (timed out)");
		} else if (rc < 0 || getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0) {
			snprintf(why, whylen, "%s", strerror(errno));
		} else if (soerr != 0) {
			snprintf(why, whylen, "%s", strerror(soerr));
		} else {
			int fl = fcntl(fd, F_GETFL, 0);
			if (fl >= 0)
				(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
			break;
		}
next:
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	return fd;
}

/* libetpan calls this before the TLS handshake: the only place to set SNI. */
static void tls_setup(struct mailstream_ssl_context *ctx, void *data)
{
	const char *host = data;

	if (!is_ip_literal(host)) /* RFC 6066: SNI carries DNS names only */
		mailstream_ssl_set_server_name(ctx, (char *)host);
}

/* The chain the server presented, checked before anything secret is sent. */
static int verify_peer(struct etpan *e, char *err, size_t errlen)
{
	carray *chain = mailstream_get_certificate_chain(e->smtp->stream);
	const unsigned char **der = NULL;
	size_t *len = NULL, n, i;
	char why[600];
	int ret = -1;

	if (!chain || carray_count(chain) == 0) {
		snprintf(err, errlen, "SMTP host %s port %d sent no certificate; nothing was sent", e->s->host, e->port);
		goto done;
	}
	n = carray_count(chain);
	der = xcalloc(n, sizeof *der);
	len = xcalloc(n, sizeof *len);
	for (i = 0; i < n; i++) {
		MMAPString *c = carray_get(chain, (unsigned)i);
		der[i] = (const unsigned char *)c->str;
		len[i] = c->len;
	}
	if (tls_verify_chain(der, len, n, e->s->host, e->s->ca_file, why, sizeof why) != 0) {
		snprintf(err, errlen, "SMTP host %s port %d: %s; nothing was sent", e->s->host, e->port, why);
		goto done;
	}
	ret = 0;
done:
	free(der);
	free(len);
	if (chain)
		mailstream_certificate_chain_free(chain);
	return ret;
}

/* The last reply as smtp.h describes replies: "535 5.7.8 text (AUTH)". */
static void describe_last(const struct etpan *e, const char *where, char *out, size_t outlen)
{
	struct smtp_reply r;
	char text[200];

	smtp_reply_set(&r, text, sizeof text, e->smtp->response_code, e->smtp->response ? e->smtp->response : "");
	smtp_describe(&r, where, out, outlen);
}

/* The last reply, for a message's judgement; code 0 when the connection
 * broke (no reply). */
static void take_reply(struct etpan *e, int rc, struct smtp_reply *r, char *store, size_t storelen)
{
	if (rc == MAILSMTP_ERROR_STREAM || !e->smtp->stream) {
		e->broken = 1;
		memset(r, 0, sizeof *r);
		return;
	}
	smtp_reply_set(r, store, storelen, e->smtp->response_code, e->smtp->response ? e->smtp->response : "");
}

static int starttls(struct etpan *e, char *err, size_t errlen)
{
	const char *host = e->s->host;
	char reply[200];

	if (!(e->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS)) {
		snprintf(err, errlen, "SMTP host %s port %d does not offer STARTTLS; refusing to go on without TLS", host,
		         e->port);
		return -1;
	}
	int rc = mailesmtp_starttls(e->smtp);
	if (rc != MAILSMTP_NO_ERROR) {
		describe_last(e, "STARTTLS", reply, sizeof reply);
		snprintf(err, errlen, "SMTP host %s refused STARTTLS: %s", host, reply);
		return -1;
	}
	/* What came after the 220 came in clear: reading it as if protected is
	 * the STARTTLS injection attack. */
	if (e->smtp->stream->read_buffer_len > 0) {
		snprintf(err, errlen, "SMTP host %s sent unexpected data after STARTTLS; nothing was sent", host);
		return -1;
	}
	mailstream_low *plain = mailstream_get_low(e->smtp->stream);
	int fd = mailstream_low_get_fd(plain);
	mailstream_low *tls = mailstream_low_tls_open_with_callback_timeout(fd, e->timeout, tls_setup, (void *)host);
	if (!tls) {
		snprintf(err, errlen, "the TLS handshake with SMTP host %s failed; nothing was sent", host);
		return -1;
	}
	mailstream_low_free(plain); /* the plain driver; fd stays open */
	mailstream_set_low(e->smtp->stream, tls);
	if (verify_peer(e, err, errlen) < 0)
		return -1;
	/* What the server offered before TLS may have been forged. */
	rc = mailesmtp_ehlo(e->smtp);
	if (rc != MAILSMTP_NO_ERROR) {
		describe_last(e, "EHLO", reply, sizeof reply);
		snprintf(err, errlen, "SMTP host %s refused EHLO after STARTTLS: %s", host, reply);
		return -1;
	}
	return 0;
}

/* Does the EHLO answer list XOAUTH2 among AUTH's mechanisms? */
static int offers_xoauth2(const struct etpan *e)
{
	const char *line = e->smtp->response;

	while (line && *line) {
		size_t n = strcspn(line, "\n");
		if (n > 5 && (!strncasecmp(line, "AUTH ", 5) || !strncasecmp(line, "AUTH=", 5))) {
			for (const char *p = line + 5; p + 7 <= line + n; p++)
				if (!strncasecmp(p, "XOAUTH2", 7) && (p + 7 == line + n || p[7] == ' ' || p[7] == '\r') &&
				    (p[-1] == ' ' || p[-1] == '='))
					return 1;
		}
		line += n;
		if (*line == '\n')
			line++;
	}
	return 0;
}

static int login(struct etpan *e, char *err, size_t errlen)
{
	const struct smtp_settings *s = e->s;
	char reply[200];

	if (!offers_xoauth2(e)) {
		snprintf(err, errlen,
		         "SMTP host %s offered no XOAUTH2 login after STARTTLS, so the OAuth2 token cannot be "
		         "used; nothing was sent",
		         s->host);
		return -1;
	}
	int rc = mailsmtp_oauth2_outlook_authenticate(e->smtp, s->username, s->token);
	if (rc != MAILSMTP_NO_ERROR && rc != MAILSMTP_ERROR_STREAM && e->smtp->response_code == 334) {
		/* A refusal in a 334 (Google's and Dovecot's way: a JSON status)
		 * waits for an empty answer before the real reply. */
		if (mailsmtp_send_command_private(e->smtp, "\r\n") == -1 || mailsmtp_read_response(e->smtp) == 0)
			rc = MAILSMTP_ERROR_STREAM;
	}
	if (rc == MAILSMTP_NO_ERROR)
		return 0;
	if (rc == MAILSMTP_ERROR_STREAM || e->smtp->response_code == 0) {
		snprintf(err, errlen, "SMTP host %s closed the connection or did not answer within %d s (at AUTH)", s->host,
		         e->timeout);
		return -1;
	}
	describe_last(e, "AUTH", reply, sizeof reply);
	snprintf(err, errlen, "SMTP host %s refused the OAuth2 token: %s%s%s", s->host, reply, s->refused_advice ? "; " : "",
	         s->refused_advice ? s->refused_advice : "");
	return -1;
}

/* MAIL FROM, BODY=8BITMIME when the message has 8-bit octets and the server
 * takes them (libetpan's own MAIL command has no such parameter). */
static int mail_from(struct etpan *e, const struct smtp_outgoing *o)
{
	int eightbit = 0;
	char tmp[8];
	(void)smtp_message_check(o->data, o->len, &eightbit, tmp, sizeof tmp);
	char *cmd = xasprintf("MAIL FROM:<%s>%s\r\n", o->mail_from,
	                      eightbit && (e->smtp->esmtp & MAILSMTP_ESMTP_8BITMIME) ? " BODY=8BITMIME" : "");
	int rc = mailsmtp_send_command(e->smtp, cmd);
	free(cmd);
	if (rc == -1)
		return MAILSMTP_ERROR_STREAM;
	rc = mailsmtp_read_response(e->smtp);
	return rc == 0 ? MAILSMTP_ERROR_STREAM : rc == 250 ? MAILSMTP_NO_ERROR : MAILSMTP_ERROR_UNEXPECTED_CODE;
}

/* One message: its replies, its judgement. */
static void send_one(struct etpan *e, struct smtp_outgoing *o)
{
	struct smtp_reply mail, data, *rcpt = xcalloc(o->nrcpt ? o->nrcpt : 1, sizeof *rcpt);
	char mail_text[200], data_text[200], (*rcpt_text)[200] = xcalloc(o->nrcpt ? o->nrcpt : 1, 200);
	size_t ok = 0;
	int rc, open = 0;

	memset(&mail, 0, sizeof mail);
	memset(&data, 0, sizeof data);
	rc = mail_from(e, o);
	take_reply(e, rc, &mail, mail_text, sizeof mail_text);
	if (!e->broken && mail.code / 100 == 2) {
		open = 1;
		for (size_t i = 0; i < o->nrcpt && !e->broken; i++) {
			rc = mailsmtp_rcpt(e->smtp, o->rcpt[i]);
			take_reply(e, rc, &rcpt[i], rcpt_text[i], sizeof rcpt_text[i]);
			if (rcpt[i].code / 100 == 2)
				ok++;
		}
	}
	if (!e->broken && ok > 0) {
		rc = mailsmtp_data(e->smtp);
		take_reply(e, rc, &data, data_text, sizeof data_text);
		if (!e->broken && data.code == 354) {
			/* libetpan ends the data with CRLF "." CRLF itself: the
			 * message's own last CRLF is left to it. */
			rc = mailsmtp_data_message(e->smtp, o->data, o->len - 2);
			take_reply(e, rc, &data, data_text, sizeof data_text);
			open = 0;
		}
	}
	if (open && !e->broken && mailsmtp_reset(e->smtp) == MAILSMTP_ERROR_STREAM)
		e->broken = 1;
	o->outcome = smtp_judge(&mail, rcpt, o->nrcpt, &data, &o->rcpt_accepted, o->detail, sizeof o->detail);
	free(rcpt);
	free(rcpt_text);
}

int smtp_etpan_session(const struct smtp_settings *s, int port, int timeout, struct smtp_outgoing *const *msgs, size_t n,
                       smtp_taken_fn on_taken, void *arg, char *err, size_t errlen)
{
	struct etpan e = { .s = s, .port = port, .timeout = timeout };
	char why[256], reply[200];
	int ret = -1, rc;

	/* libetpan's debug mode writes the whole conversation, token included,
	 * to a file in the working directory. */
	mailstream_debug = 0;
	int fd = connect_host(s->host, port, timeout, why, sizeof why);
	if (fd < 0) {
		snprintf(err, errlen, "cannot connect to SMTP host %s port %d: %s", s->host, port, why);
		return -1;
	}
	mailstream *stream = mailstream_socket_open_timeout(fd, timeout);
	if (!stream) {
		close(fd);
		snprintf(err, errlen, "cannot connect to SMTP host %s port %d: out of memory", s->host, port);
		return -1;
	}
	e.smtp = mailsmtp_new(0, NULL);
	if (!e.smtp) {
		mailstream_close(stream);
		snprintf(err, errlen, "cannot start an SMTP session: out of memory");
		return -1;
	}
	mailsmtp_set_timeout(e.smtp, timeout);
	rc = mailsmtp_connect(e.smtp, stream); /* closes the stream when it fails */
	if (rc != MAILSMTP_NO_ERROR) {
		if (rc == MAILSMTP_ERROR_STREAM || e.smtp->response_code == 0) {
			snprintf(err, errlen,
			         "SMTP host %s closed the connection or did not answer within %d s (at greeting)", s->host,
			         timeout);
		} else {
			describe_last(&e, "greeting", reply, sizeof reply);
			snprintf(err, errlen, "SMTP host %s refused the session: %s", s->host, reply);
		}
		goto done;
	}
	rc = mailesmtp_ehlo(e.smtp);
	if (rc != MAILSMTP_NO_ERROR) {
		describe_last(&e, "EHLO", reply, sizeof reply);
		snprintf(err, errlen, "SMTP host %s refused the session: %s", s->host, reply);
		goto done;
	}
	if (s->security != NET_SECURITY_NONE && starttls(&e, err, errlen) < 0)
		goto done;
	if (s->security == NET_SECURITY_NONE) {
		snprintf(err, errlen, "refusing to send the OAuth2 token without TLS: set SMTP security to \"starttls\"");
		goto done;
	}
	if (login(&e, err, errlen) < 0)
		goto done;
	log_debug("smtp: logged in to %s port %d with an OAuth2 token, %zu message(s)", s->host, port, n);
	ret = 0;
	for (size_t i = 0; i < n; i++) {
		if (e.broken) {
			struct smtp_reply none = { 0, 0, 0, 0, NULL };
			msgs[i]->outcome = smtp_judge(&none, NULL, 0, &none, &msgs[i]->rcpt_accepted, msgs[i]->detail,
			                              sizeof msgs[i]->detail);
			continue;
		}
		send_one(&e, msgs[i]);
		if (msgs[i]->outcome == SMTP_SENT && on_taken)
			on_taken(arg, msgs[i]);
	}
done:
	if (e.smtp->stream && !e.broken && ret == 0)
		(void)mailsmtp_quit(e.smtp);
	else if (e.smtp->stream) {
		mailstream_close(e.smtp->stream); /* no QUIT on a session out of step */
		e.smtp->stream = NULL;
	}
	mailsmtp_free(e.smtp);
	return ret;
}
