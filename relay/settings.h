/* settings.h: the clients' settings made from the configuration.
 *
 * Decides how each [section] of struct config becomes the settings struct
 * its client takes: the SMS gateway's (sms.h). Every settings struct
 * filled from the configuration is filled here, and nowhere else.
 *
 * Leaves to others: reading and checking the configuration (config.h), and
 * what each client does with its settings (sms.h). The strings in a settings
 * struct are borrowed from the configuration, which must outlive it. */
#ifndef RELAY_SETTINGS_H
#define RELAY_SETTINGS_H

#include "config.h"
#include "sms.h"

/* [sms] as the gateway's settings (borrowed strings). */
void settings_sms(const struct config *c, struct sms_settings *s);

/* The configured SMS gateway opened (sms_close() frees it): NULL when
 * [sms] provider = none, or when it cannot be opened (logged). */
struct sms_gateway *settings_sms_open(const struct config *c);

#endif
