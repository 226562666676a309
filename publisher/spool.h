/*
 * spool.h — batches on disk while the collector cannot take them.
 *
 * One file per batch in SPOOL_DIR/QUEUE/, named by a sequence number so the
 * oldest is replayed first: a fixed header (magic, version, lengths, batch
 * id, MAC, CRC32 of header and body) then the compressed body. A file is
 * written under a .tmp name, fsynced, renamed and the directory fsynced —
 * as one linked io_uring chain — so a crash leaves either no file or a
 * whole one. A file that fails its checks when read is renamed *.bad and
 * reported, never sent, never deleted.
 */
#ifndef RINGPUB_SPOOL_H
#define RINGPUB_SPOOL_H

#include "buf.h"
#include "loop.h"

#include <stdint.h>
#include <sys/uio.h>

#define SPOOL_ID_MAX 40

/* What the header says about a batch. */
typedef struct spool_meta {
    char batch_id[SPOOL_ID_MAX];
    char mac[65];        /* baseplate's mac of the uncompressed body */
    int64_t stamped;     /* 1: sent in ringpub's timestamped form (sign.h) */
    uint32_t codec;      /* pub_compression */
    uint32_t count;      /* events */
    uint64_t plain_len;  /* uncompressed body bytes */
    uint64_t body_len;   /* bytes that follow the header */
} spool_meta;

typedef struct pub_spool {
    int dirfd;
    uint64_t used, max_bytes, next_seq;
    uint32_t files;
    char path[4200];
} pub_spool;

/* A write in progress (owned by the caller until done is called). */
typedef struct spool_write {
    pub_op op;
    pub_op write_op;       /* the chain's first step: its own result says why a chain failed */
    int write_res;
    pub_spool *sp;
    int fd;
    uint8_t header[256];
    struct iovec iov[2];
    char tmp[64], name[64];
    uint64_t bytes;
    void (*done)(void *ctx, struct spool_write *w, int res);
    void *ctx;
} spool_write;

/* spool_open — use (creating, mode 0700) DIR/QUEUE; count what is there and
 * remove unfinished .tmp files. 0, or -1 with one line in why. */
int spool_open(pub_spool *sp, const char *dir, const char *queue, uint64_t max_bytes, char *why,
               size_t whylen);
void spool_close(pub_spool *sp);

/* spool_count — the spooled batches in directory path (0 if there is none). */
int spool_count(const char *path);

/* spool_has_room — 1 if a body of len more bytes fits under the limit. */
int spool_has_room(const pub_spool *sp, uint64_t len);

/* spool_write_start — queue the chain that writes meta + body (body must
 * stay alive until done). done(ctx, w, res): res 0 or -errno — the error of
 * the step that failed (-ENOSPC for a short write), not the -ECANCELED the
 * later steps get. 0 or -1. */
int spool_write_start(pub_spool *sp, pub_loop *l, spool_write *w, const spool_meta *m,
                      const void *body);

/* spool_oldest — the name of the oldest spooled batch into name[64]; 0, or
 * -1 when the spool is empty. */
int spool_oldest(pub_spool *sp, char name[64]);

/* spool_read — read and check a spooled batch. 0; -1 (I/O error, why);
 * -2 (corrupt: the file was renamed NAME.bad; why says what failed). */
int spool_read(pub_spool *sp, const char *name, spool_meta *m, pub_buf *body, char *why, size_t whylen);

/* spool_remove — delete a delivered batch. 0 or -1. */
int spool_remove(pub_spool *sp, const char *name);

#endif
