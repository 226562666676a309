/*
 * seals.h — the seal log: the ring range of every sealed batch, kept until
 * the ring is released past it, so a daemon restarted after kill -9
 * rebuilds exactly the batches the last run sealed. Same range, same batch
 * id (drain.c), so a collector or stream that de-duplicates by id
 * (ringcollect, JetStream's Nats-Msg-Id) drops the copies it already has.
 *
 * Boundaries are not a function of the ring alone: a batch sealed by age
 * (or at shutdown) ends at whatever the ring held at that moment, and a
 * restarted daemon finds more there. So each seal is recorded: four stores
 * into a shared mapping of SPOOL_DIR/QUEUE.sealed (mapfile.h), no syscall.
 * On start, the records of this ring that are not yet released are handed
 * to their lanes (lane.h: redo); drain.c then seals each lane's batch at
 * exactly the recorded last event, never by age before it, and names a
 * batch whose first events were already released (a safe batch, rebuilt in
 * part) by its recorded range.
 *
 * A recorded range holds exactly its batch's events, in position order:
 * drain.c seals the building batches at every break in the ring's order
 * (a stalled producer's hole stepped over, its late event handed out), so
 * no range spans a hole and a late event is a batch of its own.
 *
 * The file is checked, never trusted: a record of another ring, below the
 * released position, torn by a kill, or of a lane no longer configured is
 * dropped (costing at most duplicates, never events).
 */
#ifndef RINGPUB_SEALS_H
#define RINGPUB_SEALS_H

#include <stddef.h>
#include <stdint.h>

#define PUB_SEAL_SLOTS 4096 /* unreleased sealed batches recorded at once */

/* One sealed batch: its lane (PUB_SEAL_SAFE set once the batch was
 * delivered, spooled or dead-lettered) and the ring positions of its first
 * and last events. check ties the fields together (a torn record fails it). */
#define PUB_SEAL_SAFE 0x80000000u
typedef struct pub_seal_rec {
    uint64_t first, last;
    uint32_t lane, check;
} pub_seal_rec;

typedef struct pub_seal_file {
    uint64_t magic;
    uint64_t ring_created_ns;
    pub_seal_rec slot[PUB_SEAL_SLOTS];
} pub_seal_file;

typedef struct pub_seals {
    pub_seal_file *f;      /* NULL: not in use */
    uint32_t head, n;      /* the slots in use, a FIFO in seal order */
    uint64_t overflow;     /* seals not recorded: every slot held an unreleased batch */
    pub_seal_rec *redo;    /* what the last run sealed: by lane, then position */
    size_t nredo;
} pub_seals;

/*
 * pub_seals_open — map the seal log at path for the ring created at
 * ring_created_ns, released up to ring position `released`; keep its
 * valid records at or past `released` of lanes below nlanes, in s->redo
 * (sorted by lane, then position; one per range, safe if any copy says so)
 * and in the log. 0, or -1 with one line
 * in why.
 */
int pub_seals_open(pub_seals *s, const char *path, uint64_t ring_created_ns, uint64_t released, uint32_t nlanes,
                   char *why, size_t whylen);

/* pub_seals_close — unmap, free redo (the file stays: the next run needs it). */
void pub_seals_close(pub_seals *s);

/* pub_seals_add — record the batch of lane `lane` spanning ring positions
 * first..last. Returns its slot, or -1 (counted in s->overflow) when every
 * slot holds an unreleased batch, or the log is not in use. */
int pub_seals_add(pub_seals *s, uint32_t lane, uint64_t first, uint64_t last);

/* pub_seals_safe — the batch recorded in slot (from pub_seals_add; -1:
 * none) is safe: rebuilt after a restart, it is not sent again. */
void pub_seals_safe(pub_seals *s, int slot);

/* pub_seals_released — the ring is released up to `tail`: forget the
 * records (oldest first) that end before it. */
void pub_seals_released(pub_seals *s, uint64_t tail);

#endif
