/*
 * split.h — halving a batch the collector found too large (413): its events
 * into two batches, each framed, signed and compressed as a sealed batch is.
 * The halves' ids derive from the batch's own (BLAKE2b of id + "a" or "b"),
 * so a daemon restarted after a crash, rebuilding the same batch from the
 * ring and meeting the same 413, sends halves with the same ids and a
 * de-duplicating collector keeps one copy of each.
 */
#ifndef RINGPUB_SPLIT_H
#define RINGPUB_SPLIT_H

#include "daemon.h"

/*
 * pub_split — o becomes the first half of its events; *second (new) the
 * rest, with o's seq and lane, not yet in any list. Returns 0, or -1 with
 * o unchanged: one event only, a body not in ringpub's form (events that
 * are not JSON may hide a top-level ','), or no memory.
 */
int pub_split(pub_daemon *d, pub_out *o, pub_out **second);

#endif
