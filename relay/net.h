/* net.h: the one setting every network connection shares. */
#ifndef RELAY_NET_H
#define RELAY_NET_H

enum net_security { NET_SECURITY_TLS, NET_SECURITY_STARTTLS, NET_SECURITY_NONE };

static inline const char *net_security_name(enum net_security s)
{
	return s == NET_SECURITY_TLS ? "tls" : s == NET_SECURITY_STARTTLS ? "starttls" : "none";
}

#endif
