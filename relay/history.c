/* history.c: a conversation's texts, for cleaning and triage to match against. */
#include "history.h"

#include <stdlib.h>
#include <string.h>

#include "db.h"
#include "kind.h"
#include "mime.h"
#include "util.h"

struct gather {
	struct history_texts *h;
	int to_young; /* only what the young person was sent */
};

static void add(struct history_texts *h, char *text)
{
	size_t n = strlen(text);
	if (!n || h->bytes + n > HISTORY_MAX_BYTES) {
		free(text);
		return;
	}
	h->texts = xrealloc(h->texts, (h->n + 1) * sizeof *h->texts);
	h->texts[h->n++] = text;
	h->bytes += n;
}

static void from_transcript(void *arg, const struct message_row *m)
{
	struct gather *g = arg;
	if (!m->body || !m->body[0] || m->purged_at)
		return;
	/* what was said in the conversation: not a held reply's raw text, not a note */
	if (!kind_reaches_young_person(m->kind) && (g->to_young || m->kind != KIND_INBOUND))
		return;
	add(g->h, xstrdup(m->body));
}

static void from_outbox(void *arg, const struct outbox_row *o)
{
	struct gather *g = arg;
	if (!o->data || !o->len)
		return;
	if (g->to_young && !kind_reaches_young_person(o->kind))
		return;
	if (o->channel != CHANNEL_EMAIL) {
		add(g->h, utf8_sanitize(o->data, o->len));
		return;
	}
	struct mail m;
	mail_parse(o->data, o->len, NULL, &m);
	add(g->h, m.text);
	m.text = NULL;
	mail_free(&m);
}

static int gather(struct relay *r, long long id, int to_young, struct history_texts *h)
{
	struct gather g = { h, to_young };
	memset(h, 0, sizeof *h);
	if (db_outbox_for(r->db, id, from_outbox, &g) < 0 || db_transcript(r->db, id, from_transcript, &g) < 0) {
		history_texts_free(h);
		return -1;
	}
	return 0;
}

int history_for_adviser(struct relay *r, long long id, struct history_texts *h)
{
	return gather(r, id, 0, h);
}

int history_sent_to_young(struct relay *r, long long id, struct history_texts *h)
{
	return gather(r, id, 1, h);
}

void history_texts_free(struct history_texts *h)
{
	if (!h)
		return;
	for (size_t i = 0; i < h->n; i++)
		free(h->texts[i]);
	free(h->texts);
	memset(h, 0, sizeof *h);
}
