/* smsbox.c: the SMS gateway's inbox, with commit-before-acknowledge. */
#include "smsbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intake.h"
#include "log.h"
#include "sms.h"
#include "util.h"

int smsbox_poll(struct relay *r, char *err, size_t errlen)
{
	struct sms_gateway *g = r->sms;
	struct sms_text *texts = NULL;
	size_t n = 0, fresh = 0;
	char *cursor = NULL, *next = NULL, source[64];
	int handled = -1;

	snprintf(source, sizeof source, "sms:%s", g->provider->name);
	if (db_cursor_get_text(r->db, source, &cursor) < 0) {
		snprintf(err, errlen, "database: %s", db_error(r->db));
		return -1;
	}
	enum sms_result res = g->provider->fetch(g, cursor, &texts, &n, &next, err, errlen);
	free(cursor);
	if (res != SMS_OK) {
		if (res == SMS_AUTH)
			log_error("sms %s: the gateway refused our credentials (%s): check [sms] account, username and "
			          "password_file; texts wait on the gateway",
			          g->provider->name, err);
		goto out;
	}
	if (db_begin(r->db) < 0)
		goto dberr;
	/* Twilio lists the day's texts again at every poll: count only new ones. */
	for (size_t i = 0; i < n; i++) {
		int k = intake_text(r, g->provider->name, texts[i].id, texts[i].from, texts[i].body, texts[i].received_at);
		if (k < 0) {
			db_rollback(r->db);
			goto dberr;
		}
		fresh += k == 0;
	}
	if ((next && db_cursor_set_text(r->db, source, next) < 0) || db_commit(r->db) < 0) {
		db_rollback(r->db);
		goto dberr;
	}
	/* Only now, with every text safe on disk, tell the gateway. A failed
	 * acknowledgement only means the text is listed again and skipped. */
	for (size_t i = 0; i < n; i++) {
		char aerr[256];
		if (g->provider->acknowledge(g, &texts[i], aerr, sizeof aerr) != SMS_OK)
			log_warn("sms %s: could not acknowledge a text (%s); it is stored and will not be taken twice",
			         g->provider->name, aerr);
	}
	if (fresh)
		log_info("sms %s: %zu text%s received", g->provider->name, fresh, fresh == 1 ? "" : "s");
	handled = (int)fresh;
	goto out;
dberr:
	snprintf(err, errlen, "database: %s", db_error(r->db));
	handled = -1;
out:
	free(next);
	sms_texts_free(texts, n);
	return handled;
}
