/*
 * lane.h — where a queue's events go. Lane 0 is the queue's own sink (the
 * config's `sink` and its keys); with the `route` processor, lane 1 + R
 * takes the events of route.R. Each lane builds its own batches (in its
 * sink's body format), has its own spool directory (SPOOL_DIR/QUEUE for
 * lane 0, SPOOL_DIR/QUEUE@R for a route: '@' never occurs in a queue name)
 * and its own down/up state; batches of every lane share one FIFO and the
 * ring is released, in order, only once every batch holding its events is
 * safe (ledger.h).
 */
#ifndef RINGPUB_LANE_H
#define RINGPUB_LANE_H

#include "batch.h"
#include "config.h"
#include "spool.h"

#include <stdint.h>

struct pub_out;

typedef struct pub_lane {
    int index;
    char name[PUB_ROUTE_NAME]; /* "" for lane 0 */
    pub_sink sink;
    char version[3];           /* body format: "2" or "2j" */
    pub_compression compression;
    int level;
    char url[PUB_PATH];        /* http/eventgate: where to POST */
    char where[700];           /* for log lines */
    char file_path[PUB_PATH];  /* sink = file */
    char js_subject[PUB_STR];  /* sink = jetstream */

    pub_batch building;        /* the batch being filled */
    uint64_t since_ms;         /* its first event's arrival; 0 if empty */
    uint64_t first_pos, last_pos;
    uint64_t chunk_from;       /* first ring chunk (absolute number) not yet tied to a sealed batch */
    uint64_t sealed_seq;       /* seq of its newest sealed batch */
    int touched;               /* the current poll put events here */
    /* batches the last run sealed and did not release (seals.h), oldest
     * first: each is rebuilt with exactly its range */
    const struct pub_seal_rec *redo;
    size_t nredo;

    pub_spool spool;
    int spool_failing;         /* its last write failed (a full disk): */
    uint64_t spool_retry_ms;   /* no write before this; batches probe the sink */
    struct pub_out *replay;    /* the spooled batch being replayed */
    char split_name[64];       /* a replayed batch split after a 413: its spool file, */
    int split_left;            /* removed once its parts (this many left) are safe */
    uint64_t next_replay_ms;
    int down;                  /* the sink is failing: new batches are spooled */
    /* the sink's health (send.c): while it fails, one probe at a time */
    int fail_streak;           /* failed probes in a row; 0: healthy */
    int probing;               /* a probe is in flight */
    uint64_t probe_at_ms;      /* no request before this while failing */
    uint64_t backoff_ms;       /* the current wait (0 while healthy) */
    uint64_t probes;           /* requests sent while failing */
    long last_status;          /* the last answer (0: none, the sink did not answer) */
    uint64_t sent;             /* events delivered */
} pub_lane;

/*
 * pub_lanes_open — lanes[0] from the queue's keys, lanes[1 + r] from
 * route r (empty route keys take the queue's values; default file path
 * SPOOL_DIR/QUEUE@R.events.jsonl, subject SUBJECT.R); batches and spools
 * ready. Returns the number of lanes, or -1 with one line in why.
 */
int pub_lanes_open(pub_lane *lanes, const pub_config *c, char *why, size_t whylen);

/* pub_lanes_close — free what pub_lanes_open made (n lanes). */
void pub_lanes_close(pub_lane *lanes, int n);

/*
 * pub_lanes_orphans — spool directories SPOOL_DIR/QUEUE@R of routes that
 * are no longer configured but still hold batches: those are not sent until
 * the route comes back. Writes one line per directory into lines (joined by
 * '\n', truncated to len); returns how many directories.
 */
int pub_lanes_orphans(const pub_lane *lanes, int n, const pub_config *c, char *lines, size_t len);

/* pub_lanes_use — 1 if one of the n lanes sends to sink s. (Inline: the
 * sink registry uses it, and lane.c calls the registry.) */
static inline int pub_lanes_use(const pub_lane *lanes, int n, pub_sink s)
{
    for (int i = 0; i < n; i++)
        if (lanes[i].sink == s)
            return 1;
    return 0;
}

#endif
