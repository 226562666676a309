/*
 * ringpub/attach.h — create, attach, validate and map a ring file.
 *
 * Internal to ringpub: included by ringpub.h after the public types. Shared
 * by the header-only producer and the consumer library, so that both sides
 * validate a ring in exactly one way.
 *
 * Creation is atomic: the creator builds the whole ring under a temporary
 * name (".NAME.PID.tmp", never a valid queue name), writes the identity word
 * last, and links it to its final name; a concurrent creator that loses the
 * link race attaches to the winner's file. So no one ever attaches to a
 * half-built ring, and a creator killed midway leaves only a temporary file.
 */
#ifndef RINGPUB_ATTACH_H
#define RINGPUB_ATTACH_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

/* A mapped ring, as seen by one process. The geometry is copied out of
 * shared memory once, after validation, and never re-read. */
typedef struct rp__map {
    rp_ring_hdr *hdr;
    uint8_t *data;     /* capacity bytes, mapped twice back to back */
    uint64_t capacity;
    uint64_t mask;
    unsigned shift;    /* log2(capacity): pos >> shift is the lap */
    uint32_t max_event;
    uint32_t flags;
    int fd;
    size_t map_len;    /* RP_HDR_SIZE + 2 * capacity of address space */
} rp__map;

static inline int rp__valid_name(const char *name)
{
    size_t n = 0;
    if (!name || name[0] == '.' || name[0] == '\0')
        return 0;
    for (; name[n]; n++) {
        char c = name[n];
        int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                 (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        if (!ok || n >= RP_NAME_MAX)
            return 0;
    }
    return 1;
}

static inline const char *rp__dir(const rp_queue_opts *o)
{
    const char *d = (o && o->dir) ? o->dir : getenv("RINGPUB_DIR");
    return (d && d[0]) ? d : "/dev/shm";
}

static inline uint64_t rp__pow2_at_least(uint64_t v)
{
    uint64_t p = RP_MIN_CAPACITY;
    while (p < v && p < RP_MAX_CAPACITY)
        p <<= 1;
    return p;
}

/* Check a copy of a ring header against the file it came from. Returns 0,
 * RP_EVERSION or RP_ECORRUPT; on error writes one line into why. */
static inline int rp__validate(const rp_ring_hdr *h, uint64_t file_size, char *why, size_t whylen)
{
    uint64_t cap = h->capacity;
    if ((uint32_t)h->ident != RP_MAGIC) {
        snprintf(why, whylen, "not a ringpub ring (magic %08x)", (unsigned)(uint32_t)h->ident);
        return RP_ECORRUPT;
    }
    if (((h->ident >> 32) & 0xffff) != RP_LAYOUT_MAJOR) {
        snprintf(why, whylen, "ring layout version %u, this build reads only version %u: drain it with the "
                 "ringpub that made it, then remove the file", (unsigned)((h->ident >> 32) & 0xffff),
                 RP_LAYOUT_MAJOR);
        return RP_EVERSION;
    }
    if (h->hdr_size != RP_HDR_SIZE || h->nslots != RP_SLOTS || cap < RP_MIN_CAPACITY ||
        cap > RP_MAX_CAPACITY || (cap & (cap - 1)) != 0) {
        snprintf(why, whylen, "bad geometry (header %u bytes, capacity %llu)",
                 (unsigned)h->hdr_size, (unsigned long long)cap);
        return RP_ECORRUPT;
    }
    if (file_size != RP_HDR_SIZE + cap) {
        snprintf(why, whylen, "file is %llu bytes, header says %llu",
                 (unsigned long long)file_size, (unsigned long long)(RP_HDR_SIZE + cap));
        return RP_ECORRUPT;
    }
    if (h->max_event == 0 || h->max_event > RP_MAX_EVENT_LIMIT ||
        rp__rec_size(h->max_event) > cap) {
        snprintf(why, whylen, "bad max event size %u for capacity %llu",
                 (unsigned)h->max_event, (unsigned long long)cap);
        return RP_ECORRUPT;
    }
    if ((h->flags & ~RP_RING_SINGLE_PRODUCER) != 0) {
        snprintf(why, whylen, "bad flags %#x", (unsigned)h->flags);
        return RP_ECORRUPT;
    }
    return 0;
}

/* Positions are validated wherever they are read; this is the shared test. */
static inline int rp__positions_ok(uint64_t head, uint64_t tail, uint64_t cap)
{
    return ((head | tail) & 7u) == 0 && tail - head <= cap;
}

/* Map hdr+data, then the data area again right after it. */
static inline int rp__mmap(rp__map *m, int populate)
{
    size_t len = (size_t)(RP_HDR_SIZE + 2 * m->capacity);
    int pop = populate ? MAP_POPULATE : 0;
    uint8_t *base = (uint8_t *)mmap(NULL, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (base == (uint8_t *)MAP_FAILED)
        return RP_ENOMEM;
    if (mmap(base, (size_t)(RP_HDR_SIZE + m->capacity), PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED | pop, m->fd, 0) == MAP_FAILED ||
        mmap(base + RP_HDR_SIZE + m->capacity, (size_t)m->capacity, PROT_READ | PROT_WRITE,
             MAP_SHARED | MAP_FIXED | pop, m->fd, RP_HDR_SIZE) == MAP_FAILED) {
        munmap(base, len);
        return RP_ENOMEM;
    }
    m->hdr = (rp_ring_hdr *)base;
    m->data = base + RP_HDR_SIZE;
    m->map_len = len;
    return 0;
}

static inline void rp__unmap(rp__map *m)
{
    if (m->hdr)
        munmap((void *)m->hdr, m->map_len);
    if (m->fd >= 0)
        close(m->fd);
    m->hdr = NULL;
    m->fd = -1;
}

static inline int rp__errno_rc(int e)
{
    switch (e) {
    case ENOENT: return RP_ENOENT;
    case EACCES: case EPERM: case ELOOP: return RP_EPERM;
    case ENOMEM: return RP_ENOMEM;
    case ENOSPC: case EDQUOT: return RP_ENOSPC;
    default: return RP_EIO;
    }
}

static inline void rp__geometry(const rp_queue_opts *o, rp_ring_hdr *h)
{
    uint64_t cap = (o && o->capacity) ? o->capacity : RP_DEFAULT_CAPACITY;
    memset(h, 0, sizeof *h);
    h->hdr_size = RP_HDR_SIZE;
    h->nslots = RP_SLOTS;
    h->capacity = cap > RP_MAX_CAPACITY ? cap : rp__pow2_at_least(cap);
    h->max_event = (o && o->max_event) ? o->max_event : RP_DEFAULT_MAX_EVENT;
    h->flags = (o && (o->flags & RP_OPT_SINGLE_PRODUCER)) ? RP_RING_SINGLE_PRODUCER : 0;
    h->creator_pid = (uint32_t)getpid();
}

/* Refuse a ring larger than what the directory's filesystem has free. */
static inline int rp__room_for(int dirfd, uint64_t size, const char *dir, char *why, size_t whylen)
{
    struct statvfs sv;
    uint64_t avail;
    if (fstatvfs(dirfd, &sv) != 0)
        return 0; /* unknown: posix_fallocate decides */
    avail = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
    if (size <= avail)
        return 0;
    snprintf(why, whylen, "a ring of %llu MiB does not fit in %s: %llu MiB free there (choose a smaller "
             "capacity, or give RINGPUB_DIR more room)", (unsigned long long)(size >> 20), dir,
             (unsigned long long)(avail >> 20));
    return RP_ENOSPC;
}

/* Reserve every byte of the ring file now, so that a full memory
 * filesystem is an error at open, never a SIGBUS inside a put later. */
static inline int rp__allocate(int fd, uint64_t size, const char *dir, char *why, size_t whylen)
{
    int e = posix_fallocate(fd, 0, (off_t)size);
    if (e == 0)
        return 0;
    if (e == ENOSPC || e == EDQUOT)
        snprintf(why, whylen, "no room for a ring of %llu MiB in %s (choose a smaller capacity, or give "
                 "RINGPUB_DIR more room)", (unsigned long long)(size >> 20), dir);
    else
        snprintf(why, whylen, "cannot allocate the ring file in %s: %s", dir, strerror(e));
    return rp__errno_rc(e);
}

/* With whom this process shares the rings it creates and trusts (rp__sharing). */
typedef struct rp__share {
    int group;      /* new rings get group gid, mode 0660; another user's ring with gid rw is trusted */
    int from_dir;   /* the group is the set-group-ID directory's (new files inherit it) */
    uint32_t gid;
} rp__share;

/* The ring directory decides who shares its rings. One writable by every
 * user must have the sticky bit, or anyone could swap a ring for their own.
 * A set-group-ID directory closed to others (mode 2770, the two-user
 * recipe) shares its rings with its group, whichever user creates them;
 * RP_OPT_GROUP names a group explicitly. Otherwise rings are private to
 * their owner (and root). Returns 0 or an error with why. */
static inline int rp__sharing(int dirfd, const char *dir, const rp_queue_opts *o, rp__share *s, char *why,
                              size_t whylen)
{
    struct stat st;
    memset(s, 0, sizeof *s);
    if (fstat(dirfd, &st) != 0) {
        snprintf(why, whylen, "cannot stat ring directory %s: %s", dir, strerror(errno));
        return RP_EIO;
    }
    if ((st.st_mode & S_IWOTH) && !(st.st_mode & S_ISVTX)) {
        snprintf(why, whylen, "ring directory %s is writable by every user and has no sticky bit, so anyone "
                 "could replace a ring there: chmod +t it, or use a directory of your own (mode 2770 to share "
                 "it with a group)", dir);
        return RP_EPERM;
    }
    if (o && (o->flags & RP_OPT_GROUP)) {
        s->group = 1;
        s->gid = o->gid;
    } else if ((st.st_mode & S_ISGID) && !(st.st_mode & S_IWOTH)) {
        s->group = s->from_dir = 1;
        s->gid = (uint32_t)st.st_gid;
    }
    return 0;
}

/* Build a complete ring under a temporary name and link it into place.
 * Returns 0 (created), 1 (someone else's ring is already there) or an error. */
static inline int rp__create(int dirfd, const char *name, const rp_queue_opts *o, const rp__share *sh, char *why,
                             size_t whylen)
{
    char tmp[RP_NAME_MAX + 40];
    rp_ring_hdr g;
    rp__map m;
    struct timespec ts;
    int rc = 0;
    mode_t mode = (o && o->mode) ? (mode_t)o->mode : sh->group ? 0660 : 0600;

    rp__geometry(o, &g);
    if ((rc = rp__room_for(dirfd, RP_HDR_SIZE + g.capacity, rp__dir(o), why, whylen)) != 0)
        return rc;
    if (g.capacity > RP_MAX_CAPACITY) {
        snprintf(why, whylen, "capacity %llu bytes is over the limit of %llu", (unsigned long long)g.capacity,
                 (unsigned long long)RP_MAX_CAPACITY);
        return RP_EINVAL;
    }
    if (g.capacity > RP_MAX_CAPACITY || g.max_event > RP_MAX_EVENT_LIMIT ||
        rp__rec_size(g.max_event) > g.capacity || (mode & ~(mode_t)0770)) {
        snprintf(why, whylen, "bad options: capacity %llu, max event %u, mode %o",
                 (unsigned long long)g.capacity, (unsigned)g.max_event, (unsigned)mode);
        return RP_EINVAL;
    }
    snprintf(tmp, sizeof tmp, ".%s.%ld.tmp", name, (long)getpid());
    memset(&m, 0, sizeof m);
    m.fd = openat(dirfd, tmp, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (m.fd < 0) {
        snprintf(why, whylen, "cannot create %s: %s", tmp, strerror(errno));
        return rp__errno_rc(errno);
    }
    m.capacity = g.capacity;
    if ((sh->group && !sh->from_dir && fchown(m.fd, (uid_t)-1, (gid_t)sh->gid) != 0) || fchmod(m.fd, mode) != 0) {
        snprintf(why, whylen, "cannot set the owner or mode of %s: %s", tmp, strerror(errno));
        rc = rp__errno_rc(errno);
    } else if ((rc = rp__allocate(m.fd, RP_HDR_SIZE + g.capacity, rp__dir(o), why, whylen)) != 0) {
        /* why says it */
    } else if ((rc = rp__mmap(&m, 0)) != 0) {
        snprintf(why, whylen, "cannot map %s", tmp);
    } else {
        clock_gettime(CLOCK_REALTIME, &ts);
        g.created_unix_ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
        memcpy(m.hdr, &g, sizeof g);
        __atomic_store_n(&m.hdr->ident, rp__ident(), __ATOMIC_RELEASE);
        if (linkat(dirfd, tmp, dirfd, name, 0) != 0) {
            if (errno == EEXIST) {
                rc = 1;
            } else {
                snprintf(why, whylen, "cannot link ring %s: %s", name, strerror(errno));
                rc = rp__errno_rc(errno);
            }
        }
    }
    unlinkat(dirfd, tmp, 0);
    rp__unmap(&m);
    return rc;
}

/* A ring is trusted if it is a regular file nobody else may read or write,
 * owned by us or root, or shared on purpose (rp__sharing): its group is the
 * one we share with, with read-write access. Otherwise another local user
 * could read our events, or feed our consumer. Returns 0 or RP_EPERM with why. */
static inline int rp__trusted(const struct stat *st, const char *name, const rp__share *sh, char *why,
                              size_t whylen)
{
    uid_t me = geteuid();
    int shared = sh->group && st->st_gid == (gid_t)sh->gid && (st->st_mode & 0060) == 0060;
    if (!S_ISREG(st->st_mode) || (st->st_mode & 0007)) {
        snprintf(why, whylen, "ring %s is not a regular file closed to others (mode %o)", name,
                 (unsigned)(st->st_mode & 07777));
        return RP_EPERM;
    }
    if (st->st_uid != me && st->st_uid != 0 && !shared) {
        snprintf(why, whylen, "ring %s is owned by uid %u, not us (uid %u) or root, nor shared: use a set-group-ID "
                 "ring directory (2770) of a group both users are in, or name it (ring.group, --group, group=)",
                 name, (unsigned)st->st_uid, (unsigned)me);
        return RP_EPERM;
    }
    return 0;
}

/* Open an existing ring, refuse unsafe files, validate and map it. */
static inline int rp__attach_existing(int dirfd, const char *name, const rp_queue_opts *o, const rp__share *sh,
                                      int populate, rp__map *m, char *why, size_t whylen)
{
    struct stat st;
    rp_ring_hdr h;
    int rc;

    m->fd = openat(dirfd, name, O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (m->fd < 0) {
        snprintf(why, whylen, "cannot open ring %s: %s", name, strerror(errno));
        return rp__errno_rc(errno);
    }
    if (fstat(m->fd, &st) != 0) {
        snprintf(why, whylen, "cannot stat ring %s: %s", name, strerror(errno));
        rc = RP_EIO;
    } else {
        rc = rp__trusted(&st, name, sh, why, whylen);
    }
    if (rc) {
        close(m->fd);
        m->fd = -1;
        return rc;
    }
    if (pread(m->fd, &h, sizeof h, 0) != (ssize_t)sizeof h) {
        snprintf(why, whylen, "ring %s is shorter than its header", name);
        rc = RP_ECORRUPT;
    } else {
        rc = rp__validate(&h, (uint64_t)st.st_size, why, whylen);
    }
    if (rc == 0) {
        m->capacity = h.capacity;
        m->mask = h.capacity - 1;
        m->shift = (unsigned)__builtin_ctzll(h.capacity);
        m->max_event = h.max_event;
        m->flags = h.flags;
        /* a file not fully allocated (a sparse copy, a punched hole) would
         * SIGBUS on a full filesystem: allocate it now or refuse it */
        if ((uint64_t)st.st_blocks * 512u < (uint64_t)st.st_size)
            rc = rp__allocate(m->fd, (uint64_t)st.st_size, rp__dir(o), why, whylen);
        if (rc == 0)
            rc = rp__mmap(m, populate);
        if (rc == RP_ENOMEM)
            snprintf(why, whylen, "cannot map ring %s (%llu bytes)", name,
                     (unsigned long long)m->capacity);
    }
    if (rc) {
        close(m->fd);
        m->fd = -1;
    }
    return rc;
}

/* Attach to ring `name`, creating it first unless RP_OPT_NO_CREATE. */
static inline int rp__attach(rp__map *m, const char *name, const rp_queue_opts *o, char *why, size_t whylen)
{
    int dirfd, rc = 0;
    unsigned flags = o ? o->flags : 0;
    rp__share sh;

    memset(m, 0, sizeof *m);
    m->fd = -1;
    why[0] = '\0';
    if (!rp__valid_name(name)) {
        snprintf(why, whylen, "bad queue name: 1-%d chars of [A-Za-z0-9._-], not starting with '.'", RP_NAME_MAX);
        return RP_EINVAL;
    }
    dirfd = open(rp__dir(o), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dirfd < 0 && (errno == ENOENT || errno == ENOTDIR)) {
        snprintf(why, whylen, "ring directory %s does not exist (RINGPUB_DIR names it; create it or set it to "
                 "the directory the daemon uses)", rp__dir(o));
        return RP_ENODIR;
    }
    if (dirfd < 0) {
        snprintf(why, whylen, "cannot open ring directory %s: %s", rp__dir(o), strerror(errno));
        return rp__errno_rc(errno);
    }
    rc = rp__sharing(dirfd, rp__dir(o), o, &sh, why, whylen);
    if (rc == 0 && !(flags & RP_OPT_NO_CREATE) && faccessat(dirfd, name, F_OK, AT_SYMLINK_NOFOLLOW) != 0)
        rc = rp__create(dirfd, name, o, &sh, why, whylen);
    if (rc >= 0)
        rc = rp__attach_existing(dirfd, name, o, &sh, !(flags & RP_OPT_NO_POPULATE), m, why, whylen);
    close(dirfd);
    return rc;
}

#endif /* RINGPUB_ATTACH_H */
