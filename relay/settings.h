/* settings.h: the clients' settings made from the configuration, in one
 * place: the IMAP session's (imap.h), the SMTP session's (smtp.h), Microsoft
 * Graph's (graph.h) and the SMS gateway's (sms.h).
 *
 * Decides how each [section] of struct config becomes the settings struct
 * its client takes, including, with auth = oauth2, asking login.h for the
 * token a login needs and oauth.h for Graph's token source. Every settings
 * struct filled from the configuration is filled here, and nowhere else.
 *
 * Leaves to others: reading and checking the configuration (config.h),
 * which transport sends (outbox_uses_graph, outbox.h), what each client does
 * with its settings, and what a refused token means for the next login
 * (login.h, called by the client's caller). The strings in a settings struct
 * are borrowed from the configuration, which must outlive it. */
#ifndef RELAY_SETTINGS_H
#define RELAY_SETTINGS_H

#include <stddef.h>

#include "config.h"
#include "graph.h"
#include "imap.h"
#include "sms.h"
#include "smtp.h"

/* [imap] as the IMAP session's settings; with auth = oauth2 a token fit for
 * a session (login.h, borrowed until the next one is asked for). 0, or -1
 * with err when no token could be had. */
int settings_imap(const struct config *c, struct imap_settings *s, char *err, size_t errlen);

/* [smtp] as the SMTP session's settings: the outbox's sessions and the
 * health check's login use the same. With [smtp] auth = oauth2 the token
 * (login.h) is borrowed until the next one is asked for, or no_token says
 * why there is none (static: until the next call). */
void settings_smtp(const struct config *c, struct smtp_settings *s);

/* [smtp] transport = graph: the Graph settings ([oauth]'s Graph URL, CA file
 * and timeout; the mailbox is [smtp] username or the From address; the
 * token source is the process's, oauth_source). 0, or -1 with err (a Google
 * provider, or no token source). */
int settings_graph(const struct config *c, struct graph_settings *s, char *err, size_t errlen);

/* [sms] as the gateway's settings. */
void settings_sms(const struct config *c, struct sms_settings *s);

/* The configured SMS gateway opened (sms_close() frees it): NULL when
 * [sms] provider = none, or when it cannot be opened (logged). */
struct sms_gateway *settings_sms_open(const struct config *c);

#endif
