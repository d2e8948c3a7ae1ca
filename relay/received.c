/* received.c: threading, sender role, classification and storing of a received email. */
#include "received.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kind.h"
#include "util.h"

int received_threads(struct relay *r, const struct mail *m, struct threading *t)
{
	memset(t, 0, sizeof *t);
	for (size_t i = 0; i < m->nrecipients; i++) {
		char ref[REFERENCE_MAX];
		int valid = 0;
		if (!tag_parse(m->recipients[i], r->cfg->from_address, r->cfg->reference_prefix, r->cfg->secret,
		               r->cfg->secret_len, ref, &valid))
			continue;
		if (!valid) {
			t->bad_tag = 1;
			continue;
		}
		struct conversation c;
		int rc = db_conversation_by_ref(r->db, ref, &c);
		if (rc < 0)
			return -1;
		if (rc == 0 && !t->tagged)
			t->tagged = c.id;
		conversation_free(&c);
	}
	/* In-Reply-To first, then References newest to oldest. */
	for (size_t k = 0; k <= m->nreferences; k++) {
		const char *id = k == 0 ? m->in_reply_to : m->references[m->nreferences - k];
		long long conv = 0;
		enum message_kind kind = KIND_OTHER;
		if (!id)
			continue;
		int rc = db_conversation_by_message_id(r->db, id, &conv, &kind);
		if (rc < 0)
			return -1;
		if (rc == 0) {
			/* An answer to our auto-reply joins its conversation like any
			 * other: it is a person's message unless it bears the signs of
			 * automatic mail itself (automatic.h says why). */
			if (kind_reaches_advisers(kind)) {
				if (!t->adviser_side)
					t->adviser_side = conv;
			} else if (!t->young_side && conv) {
				t->young_side = conv;
			}
		}
	}
	if (!reference_in_subject(m->subject, r->cfg->reference_prefix, t->subject_ref))
		t->subject_ref[0] = '\0';
	return 0;
}

enum sender_role received_role(const struct relay *r, const struct mail *m, const struct threading *t)
{
	if (m->from_address && address_list_has(&r->cfg->allowed, m->from_address))
		return ROLE_ADVISER;
	if (t->tagged || t->bad_tag || t->adviser_side)
		return ROLE_OUTSIDER;
	return ROLE_YOUNG_PERSON;
}

enum automatic_reason received_classify(const struct relay *r, const struct mail *m)
{
	struct mail_header *h = xcalloc(m->nfields + 1, sizeof *h);
	for (size_t i = 0; i < m->nfields; i++) {
		h[i].name = m->fields[i].name;
		h[i].value = m->fields[i].value;
	}
	struct automatic_input in = {
		.headers = h,
		.nheaders = m->nfields,
		.return_path = m->return_path,
		.from_address = m->from_address,
		.subject = m->subject,
		.content_type = m->content_type,
		.loop_stamp = r->cfg->loop_header,
		.own_address = r->cfg->from_address,
	};
	enum automatic_reason why = automatic_classify(&in);
	free(h);
	return why;
}

static char *join_refs(const struct mail *m)
{
	struct buf b;
	buf_init(&b);
	for (size_t i = 0; i < m->nreferences; i++) {
		/* In-Reply-To ids come last in m->references; keep the References order. */
		if (b.len)
			buf_addc(&b, ' ');
		buf_adds(&b, m->references[i]);
	}
	return b.len ? buf_take(&b) : (buf_free(&b), NULL);
}

static char *attachment_text(const struct mail *m)
{
	struct buf b;
	if (!m->nattachments)
		return NULL;
	buf_init(&b);
	for (size_t i = 0; i < m->nattachments; i++)
		buf_printf(&b, "%s (%s, %zu bytes)\n",
		           m->attachments[i].filename[0] ? m->attachments[i].filename : "unnamed",
		           m->attachments[i].content_type, m->attachments[i].size);
	return buf_take(&b);
}

int received_store(struct relay *r, const struct conversation *c, enum message_kind kind, const struct mail *m,
                   const char *raw, size_t len, const char *author, const char *body, const char *detail, long long *row)
{
	/* An adviser's reply is recorded as what went out, on the channel it went out on. */
	enum channel channel = kind == KIND_REPLY ? c->channel : CHANNEL_EMAIL;
	char *refs = join_refs(m), *att = attachment_text(m);
	struct message_row mr = {
		.conversation_id = c->id,
		.kind = kind,
		.channel = channel,
		.at = r->now,
		.message_id = m->message_id,
		.refs = refs,
		.author = author,
		.subject = m->subject,
		.body = body ? body : m->text,
		.raw = raw,
		.raw_len = len,
		.attachments = att,
		.detail = detail,
	};
	int rc = db_message_add(r->db, &mr, row);
	free(refs);
	free(att);
	return rc;
}
