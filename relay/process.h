/* process.h: who the relay runs as, and who is at its console. */
#ifndef RELAY_PROCESS_H
#define RELAY_PROCESS_H

#include <stddef.h>

/* Started as root, becomes user (its uid, primary group and supplementary
 * groups) for good. Returns 0 when done or not root, 1 when user is "root"
 * (the configuration insists on staying root), -1 with err otherwise. */
int process_drop_root(const char *user, char *err, size_t errlen);

/* "operator NAME": the person running a command at the server (the sudo
 * caller when there is one), for the audit trail. Owned. */
char *process_operator(void);

#endif
