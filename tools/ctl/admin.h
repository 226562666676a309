/* admin.h — `ringctl create`, `ringctl rm` and `ringctl tail`. */
#ifndef RINGCTL_ADMIN_H
#define RINGCTL_ADMIN_H

#include <ringpub.h>

/* ringctl_group — --group NAME|GID: share the rings o opens with that
 * group (RP_OPT_GROUP). 0, or -1 if there is no such group. */
int ringctl_group(const char *v, rp_queue_opts *o);

/* ringctl create NAME [--capacity SIZE] [--max-event SIZE] [--group NAME|GID]:
 * a new ring (refused if NAME exists). */
int ringctl_create(int argc, char **argv);

/* ringctl rm NAME [--force]: remove a ring; refused while a consumer holds
 * it, and (without --force) while other processes map it or it holds
 * unconsumed events. */
int ringctl_rm(int argc, char **argv);

/* ringctl tail NAME [-n N]: print the newest N (10) events, one per line,
 * without consuming them. */
int ringctl_tail(int argc, char **argv);

#endif
