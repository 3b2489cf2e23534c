/* Dropping root once every privileged resource is open (raw sockets,
 * low ports, the store), in the OpenBGPD manner, so nothing that parses
 * network input runs as root. */
#ifndef LIGHTSOUT_PRIVDROP_H
#define LIGHTSOUT_PRIVDROP_H

#include <stddef.h>

/* Switches to user's uid, gid and only that group, for good (checked:
 * regaining root must fail).  Returns 0, or -1 with err filled. */
int priv_drop(const char *user, char *err, size_t errlen);

#endif
