/* template.h: every text a young person or adviser receives is a plain file
 * in the templates directory, with {{placeholders}}. A template may start
 * with a "Subject: ..." line and a blank line.
 *
 * The registry below (template.c) names each template and the placeholders it
 * may use, so that `relay check` catches a missing template or an unknown
 * placeholder before a message needs it. */
#ifndef RELAY_TEMPLATE_H
#define RELAY_TEMPLATE_H

#include <stddef.h>

#include "util.h"

struct template_var {
	const char *name;
	const char *value; /* NULL renders as "" */
};

struct template
{
	char *subject; /* owned, NULL when the file has no Subject line */
	char *body;    /* owned */
};

/* Replaces each {{name}} in text (spaces inside the braces allowed). An
 * unknown name is an error: -1 with err naming it; out then holds nothing new. */
int template_render(const char *text, const struct template_var *vars, size_t n, struct buf *out, char *err, size_t errlen);

/* Loads dir/NAME.txt (from memory while the file is unchanged). 0 or -1
 * with err. */
int template_load(const char *dir, const char *name, struct template *t, char *err, size_t errlen);
/* Frees what template_load keeps in memory (at exit, for leak checkers). */
void template_forget(void);
void template_free(struct template *t);

/* Loads and renders NAME with vars into owned *subject (may be NULL) and *body. */
int template_fill(const char *dir, const char *name, const struct template_var *vars, size_t n, char **subject, char **body,
                  char *err, size_t errlen);

/* Checks every registered template in dir: present, readable, only known
 * placeholders. Calls report(arg, name, NULL) for each good one and
 * report(arg, name, problem) for each bad one. Returns the number of bad ones. */
int template_check_all(const char *dir, void (*report)(void *arg, const char *name, const char *problem), void *arg);

#endif
