/* spool.c — see spool.h. */
#include "spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define MAGIC "RPSPOOL1"
#define HDR_LEN 192u /* bytes of header actually used; the CRC sits at the end */
#define BODY_MAX ((uint64_t)1 << 31)

/* Header layout (little-endian host order; the spool never leaves the host):
 * magic[8] version u32 hdr_len u32 codec u32 count u32 plain_len u64
 * body_len u64 stamped i64 batch_id[40] mac[65] ... crc32 u32 at HDR_LEN-4.
 * Version 1 held a timestamped mac over the body instead: such a file is
 * refused (renamed *.bad) unless it was not stamped. */
static void encode(uint8_t *h, const spool_meta *m)
{
    uint32_t v = 2, hl = HDR_LEN;
    memset(h, 0, HDR_LEN);
    memcpy(h, MAGIC, 8);
    memcpy(h + 8, &v, 4);
    memcpy(h + 12, &hl, 4);
    memcpy(h + 16, &m->codec, 4);
    memcpy(h + 20, &m->count, 4);
    memcpy(h + 24, &m->plain_len, 8);
    memcpy(h + 32, &m->body_len, 8);
    memcpy(h + 40, &m->stamped, 8);
    memcpy(h + 48, m->batch_id, SPOOL_ID_MAX);
    memcpy(h + 88, m->mac, 65);
}

static int decode(const uint8_t *h, spool_meta *m)
{
    uint32_t v, hl;
    memcpy(&v, h + 8, 4);
    memcpy(&hl, h + 12, 4);
    if (memcmp(h, MAGIC, 8) != 0 || (v != 1 && v != 2) || hl != HDR_LEN)
        return -1;
    memcpy(&m->codec, h + 16, 4);
    memcpy(&m->count, h + 20, 4);
    memcpy(&m->plain_len, h + 24, 8);
    memcpy(&m->body_len, h + 32, 8);
    memcpy(&m->stamped, h + 40, 8);
    memcpy(m->batch_id, h + 48, SPOOL_ID_MAX);
    memcpy(m->mac, h + 88, 65);
    if ((v == 1 && m->stamped != 0) || (m->stamped != 0 && m->stamped != 1))
        return -1;
    if (m->batch_id[SPOOL_ID_MAX - 1] || m->mac[64] || m->codec > 2 || m->body_len > BODY_MAX ||
        m->plain_len > BODY_MAX)
        return -1;
    return 0;
}

static uint32_t crc_of(const uint8_t *h, const void *body, uint64_t len)
{
    uLong c = crc32(0L, h, HDR_LEN - 4);
    return (uint32_t)crc32(c, (const Bytef *)body, (uInt)len);
}

static int is_batch_name(const char *n, uint64_t *seq)
{
    char *end;
    if (strlen(n) != 20 || strcmp(n + 16, ".rpb") != 0)
        return 0;
    *seq = strtoull(n, &end, 16);
    return end == n + 16;
}

int spool_open(pub_spool *sp, const char *dir, const char *queue, uint64_t max_bytes, char *why,
               size_t whylen)
{
    DIR *d;
    struct dirent *e;
    memset(sp, 0, sizeof *sp);
    sp->max_bytes = max_bytes;
    snprintf(sp->path, sizeof sp->path, "%s/%s", dir, queue);
    if ((mkdir(dir, 0700) != 0 && errno != EEXIST) || (mkdir(sp->path, 0700) != 0 && errno != EEXIST) ||
        (sp->dirfd = open(sp->path, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW)) < 0) {
        snprintf(why, whylen, "spool directory %s: %s", sp->path, strerror(errno));
        return -1;
    }
    if (!(d = fdopendir(dup(sp->dirfd)))) {
        snprintf(why, whylen, "spool directory %s: %s", sp->path, strerror(errno));
        close(sp->dirfd);
        return -1;
    }
    while ((e = readdir(d))) {
        struct stat st;
        uint64_t seq;
        size_t n = strlen(e->d_name);
        if (n > 4 && strcmp(e->d_name + n - 4, ".tmp") == 0) {
            unlinkat(sp->dirfd, e->d_name, 0); /* a write that never finished */
        } else if (is_batch_name(e->d_name, &seq) && fstatat(sp->dirfd, e->d_name, &st, 0) == 0) {
            sp->used += (uint64_t)st.st_size;
            sp->files++;
            if (seq >= sp->next_seq)
                sp->next_seq = seq + 1;
        }
    }
    closedir(d);
    return 0;
}

int spool_count(const char *path)
{
    DIR *d = opendir(path);
    struct dirent *e;
    uint64_t seq;
    int n = 0;
    if (!d)
        return 0;
    while ((e = readdir(d)))
        n += is_batch_name(e->d_name, &seq);
    closedir(d);
    return n;
}

void spool_close(pub_spool *sp)
{
    if (sp->dirfd > 0)
        close(sp->dirfd);
    sp->dirfd = -1;
}

int spool_has_room(const pub_spool *sp, uint64_t len)
{
    return sp->used + HDR_LEN + len <= sp->max_bytes;
}

static void on_write_step(void *ctx, pub_op *op, int res)
{
    spool_write *w = (spool_write *)ctx;
    (void)op;
    w->write_res = res >= 0 && (uint64_t)res < w->bytes ? -ENOSPC : res; /* a short write: the disk is full */
}

static void on_written(void *ctx, pub_op *op, int res)
{
    spool_write *w = (spool_write *)ctx;
    (void)op;
    close(w->fd);
    if (res == -ECANCELED && w->write_res < 0)
        res = w->write_res;
    if (res < 0) {
        unlinkat(w->sp->dirfd, w->tmp, 0);
    } else {
        w->sp->used += w->bytes;
        w->sp->files++;
        res = 0;
    }
    w->done(w->ctx, w, res);
}

int spool_write_start(pub_spool *sp, pub_loop *l, spool_write *w, const spool_meta *m, const void *body)
{
    uint32_t crc;
    uint64_t seq = sp->next_seq++;
    snprintf(w->name, sizeof w->name, "%016" PRIx64 ".rpb", seq);
    snprintf(w->tmp, sizeof w->tmp, "%016" PRIx64 ".tmp", seq);
    w->sp = sp;
    w->fd = openat(sp->dirfd, w->tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (w->fd < 0)
        return -1;
    encode(w->header, m);
    crc = crc_of(w->header, body, m->body_len);
    memcpy(w->header + HDR_LEN - 4, &crc, 4);
    w->iov[0] = (struct iovec){ w->header, HDR_LEN };
    w->iov[1] = (struct iovec){ (void *)(uintptr_t)body, (size_t)m->body_len };
    w->bytes = HDR_LEN + m->body_len;
    w->op.fn = on_written;
    w->op.ctx = w;
    w->write_op = (pub_op){ on_write_step, w, 0 };
    w->write_res = 0;
    /* write -> fsync -> rename -> fsync the directory, each only if the
     * previous succeeded; the last one's completion reports the chain */
    struct io_uring_sqe *s = pub_loop_sqe(l, &w->write_op);
    io_uring_prep_writev(s, w->fd, w->iov, 2, 0);
    s->flags |= IOSQE_IO_LINK;
    s = pub_loop_sqe(l, NULL);
    io_uring_prep_fsync(s, w->fd, IORING_FSYNC_DATASYNC);
    s->flags |= IOSQE_IO_LINK;
    s = pub_loop_sqe(l, NULL);
    io_uring_prep_renameat(s, sp->dirfd, w->tmp, sp->dirfd, w->name, 0);
    s->flags |= IOSQE_IO_LINK;
    io_uring_prep_fsync(pub_loop_sqe(l, &w->op), sp->dirfd, 0);
    return 0;
}

int spool_oldest(pub_spool *sp, char name[64])
{
    DIR *d = fdopendir(dup(sp->dirfd));
    struct dirent *e;
    uint64_t best = UINT64_MAX, seq;
    if (!d)
        return -1;
    rewinddir(d);
    while ((e = readdir(d)))
        if (is_batch_name(e->d_name, &seq) && seq < best) {
            best = seq;
            snprintf(name, 64, "%.63s", e->d_name);
        }
    closedir(d);
    return best == UINT64_MAX ? -1 : 0;
}

static int quarantine(pub_spool *sp, const char *name, char *why, size_t whylen, const char *what)
{
    char bad[80];
    snprintf(bad, sizeof bad, "%s.bad", name);
    renameat(sp->dirfd, name, sp->dirfd, bad);
    snprintf(why, whylen, "spooled batch %s/%s is corrupt (%s): kept as %s", sp->path, name, what, bad);
    return -2;
}

int spool_read(pub_spool *sp, const char *name, spool_meta *m, pub_buf *body, char *why, size_t whylen)
{
    uint8_t h[HDR_LEN];
    struct stat st;
    uint32_t crc;
    int fd = openat(sp->dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW), rc = 0;
    if (fd < 0 || fstat(fd, &st) != 0) {
        snprintf(why, whylen, "spool %s/%s: %s", sp->path, name, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    body->len = 0;
    if (pread(fd, h, HDR_LEN, 0) != (ssize_t)HDR_LEN || decode(h, m) != 0)
        rc = quarantine(sp, name, why, whylen, "bad header");
    else if ((uint64_t)st.st_size != HDR_LEN + m->body_len)
        rc = quarantine(sp, name, why, whylen, "wrong length");
    else if (pub_buf_reserve(body, m->body_len) != 0)
        rc = quarantine(sp, name, why, whylen, "body over the limit");
    else if (pread(fd, body->data, m->body_len, HDR_LEN) != (ssize_t)m->body_len)
        rc = quarantine(sp, name, why, whylen, "short read");
    else {
        body->len = m->body_len;
        memcpy(&crc, h + HDR_LEN - 4, 4);
        if (crc != crc_of(h, body->data, m->body_len))
            rc = quarantine(sp, name, why, whylen, "checksum mismatch");
    }
    close(fd);
    if (rc == -2) {
        sp->used -= sp->used >= (uint64_t)st.st_size ? (uint64_t)st.st_size : sp->used;
        sp->files -= sp->files > 0;
    }
    return rc;
}

int spool_remove(pub_spool *sp, const char *name)
{
    struct stat st;
    if (fstatat(sp->dirfd, name, &st, 0) != 0 || unlinkat(sp->dirfd, name, 0) != 0)
        return -1;
    sp->used -= sp->used >= (uint64_t)st.st_size ? (uint64_t)st.st_size : sp->used;
    sp->files -= sp->files > 0;
    return 0;
}
