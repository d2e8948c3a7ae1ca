/* inbound.c: routing of a received email. */
#include "inbound.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "identity.h"
#include "log.h"
#include "mime.h"
#include "received.h"
#include "replies.h"
#include "util.h"
#include "young.h"

/* The key relays before identity.h kept for a message: "mid:" and its
 * Message-ID, or without one "sha256:" and a digest of its bytes. */
static char *dedupe_key(const struct mail *m, const char *raw, size_t len)
{
	if (m->message_id && *m->message_id)
		return xasprintf("mid:%s", m->message_id);
	unsigned char digest[32];
	char hex[65];
	gnutls_hash_fast(GNUTLS_DIG_SHA256, raw, len, digest);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", digest[i]);
	return xasprintf("sha256:%s", hex);
}

/* Was this message taken in before? 1 yes (*row: its transcript row, 0 for
 * none), 0 no, -1 on error. key is its identity (identity.h). A message
 * taken in before identities is known only by dedupe_key(), and "mid:"
 * says just that some message with that Message-ID came: it is this one
 * when the source kept with it has this identity. A source since purged
 * cannot be compared and counts as this message, as it did before; a key
 * kept with no row (our own mail come back) stored nothing to store twice. */
static int seen_before(struct relay *r, const struct mail *m, const char *raw, size_t len, const char *key, long long *row)
{
	char *old, *stored = NULL, other[IDENTITY_KEY_LEN + 1];
	size_t stored_len = 0;
	int rc;

	*row = 0;
	rc = db_inbound_known(r->db, key);
	if (rc != 0)
		return rc;
	old = dedupe_key(m, raw, len);
	rc = db_inbound_message(r->db, old, row, &stored, &stored_len);
	if (rc == 0) {
		if (!strncmp(old, "sha256:", 7) || (*row && !stored))
			rc = 1;
		else if (!*row)
			rc = 0;
		else if (identity_key(stored, stored_len, other) < 0)
			rc = -1;
		else
			rc = strcmp(other, key) == 0;
		/* known by its identity from now on */
		if (rc == 1 && db_inbound_add(r->db, key, *row) < 0)
			rc = -1;
	} else if (rc == 1) {
		rc = 0;
	}
	free(old);
	free(stored);
	return rc;
}

int inbound_email(struct relay *r, const char *source_key, const char *raw, size_t len, int truncated)
{
	struct mail m;
	struct threading t;
	struct mail_limits lim = { r->cfg->imap_max_depth, r->cfg->imap_max_parts, 0 };
	long long row = 0, known_row = 0;
	char key[IDENTITY_KEY_LEN + 1];
	int rc = -1, known;

	known = db_inbound_known(r->db, source_key);
	if (known != 0)
		return known < 0 ? -1 : 1;
	mail_parse(raw, len, &lim, &m);
	if (truncated) {
		free(m.cut);
		m.cut = xasprintf("it is larger than [imap] max_message_kb (%d KiB); only its first part was read",
		                  r->cfg->imap_max_message_kb);
	}
	if (m.cut)
		log_warn("a message was cut (%s): %s", source_key, m.cut);
	/* De-duplicated by what the message is: a second message that reuses a
	 * Message-ID is a message of its own. */
	known = identity_key(raw, len, key) < 0 ? -1 : seen_before(r, &m, raw, len, key, &known_row);
	if (known < 0)
		goto out;
	if (known) {
		/* The same message again (a UIDVALIDITY rescan, a copy to two addresses). */
		log_info("a message already received was skipped (%s)", source_key);
		rc = db_inbound_add(r->db, source_key, known_row) < 0 ? -1 : 1;
		goto out;
	}
	if (m.from_address && !strcasecmp(m.from_address, r->cfg->from_address) && mail_field_get(&m, r->cfg->loop_header)) {
		log_info("one of the relay's own messages came back; ignored (%s)", source_key);
		rc = (db_inbound_add(r->db, source_key, 0) < 0 || db_inbound_add(r->db, key, 0) < 0) ? -1 : 0;
		goto out;
	}
	if (received_threads(r, &m, &t) < 0)
		goto out;

	enum sender_role role = received_role(r, &m, &t);
	if (role == ROLE_YOUNG_PERSON)
		rc = young_email(r, &m, t.young_side, raw, len, &row);
	else
		rc = replies_receive(r, &m, &t, role, raw, len, &row);
	if (rc == 0)
		rc = (db_inbound_add(r->db, source_key, row) < 0 || db_inbound_add(r->db, key, row) < 0) ? -1 : 0;
out:
	mail_free(&m);
	return rc;
}
