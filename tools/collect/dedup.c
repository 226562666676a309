/* dedup.c — see dedup.h. Ids are kept as 64-bit keyed hashes (SipHash via
 * libsodium, random key per process) in an open-addressing table, with a
 * FIFO of the same hashes to evict the oldest past the window. */
#include "dedup.h"
#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define ID_MAX 128

struct dedup {
    uint8_t key[crypto_shorthash_KEYBYTES];
    uint64_t *table; /* 0 = empty, 1 = deleted */
    size_t mask;
    uint64_t *fifo;
    uint32_t *when;   /* fifo[i] was added at when[i] (s, monotonic); 0: from the log */
    size_t window, head, count, tombstones;
    uint32_t keep_s;
    FILE *log;
};

static uint64_t hash_id(const dedup *d, const char *id)
{
    uint8_t h[crypto_shorthash_BYTES];
    uint64_t v;
    crypto_shorthash(h, (const uint8_t *)id, strlen(id), d->key);
    memcpy(&v, h, sizeof v);
    return v < 2 ? v + 2 : v;
}

/* The slot holding h, or the empty slot where a search for h ends. */
static size_t find(const dedup *d, uint64_t h)
{
    size_t i = (size_t)h & d->mask;
    while (d->table[i] != 0 && d->table[i] != h)
        i = (i + 1) & d->mask;
    return i;
}

static void insert(dedup *d, uint64_t h)
{
    size_t i = (size_t)h & d->mask;
    while (d->table[i] > 1 && d->table[i] != h)
        i = (i + 1) & d->mask;
    if (d->table[i] == 1)
        d->tombstones--;
    d->table[i] = h;
}

/* Rebuild the table from the FIFO: drops tombstones, so searches always
 * meet an empty slot (the table is at least 4x the window). */
static void rebuild(dedup *d)
{
    memset(d->table, 0, (d->mask + 1) * sizeof *d->table);
    d->tombstones = 0;
    for (size_t k = 0; k < d->count; k++)
        insert(d, d->fifo[(d->head + k) % d->window]);
}

/* Remember h, added at now; 1 if that evicted an id younger than keep_s. */
static int remember(dedup *d, uint64_t h, uint32_t now)
{
    int young = 0;
    if (d->count == d->window) { /* evict the oldest */
        uint32_t t = d->when[d->head];
        young = t != 0 && now - t < d->keep_s;
        size_t i = find(d, d->fifo[d->head]);
        if (d->table[i] == d->fifo[d->head]) {
            d->table[i] = 1;
            d->tombstones++;
        }
        d->head = (d->head + 1) % d->window;
        d->count--;
    }
    insert(d, h);
    d->fifo[(d->head + d->count) % d->window] = h;
    d->when[(d->head + d->count) % d->window] = now;
    d->count++;
    if (d->tombstones > d->window)
        rebuild(d);
    return young;
}

/* The id log, opened as outdir.h opens every file of ours. */
static FILE *open_log(const char *path, char *why, size_t whylen)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
    int dirfd = open(dir[0] ? dir : "/", O_RDONLY | O_DIRECTORY | O_CLOEXEC), fd = -1;
    FILE *f = NULL;
    if (dirfd < 0)
        snprintf(why, whylen, "%s: %s", dir, strerror(errno));
    else if ((fd = outdir_open(dirfd, slash ? slash + 1 : path, O_RDWR | O_APPEND, why, whylen)) >= 0 &&
             !(f = fdopen(fd, "a+")))
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
    if (!f && fd >= 0)
        close(fd);
    if (dirfd >= 0)
        close(dirfd);
    return f;
}

dedup *dedup_open(const char *path, size_t window, uint32_t keep_s, char *why, size_t whylen)
{
    dedup *d = (dedup *)calloc(1, sizeof *d);
    size_t size = 16;
    char line[ID_MAX + 2];
    why[0] = '\0';
    if (!d || sodium_init() < 0 || window == 0)
        goto fail;
    while (size < window * 4)
        size *= 2;
    d->table = (uint64_t *)calloc(size, sizeof *d->table);
    d->fifo = (uint64_t *)calloc(window, sizeof *d->fifo);
    d->when = (uint32_t *)calloc(window, sizeof *d->when);
    if (!d->table || !d->fifo || !d->when)
        goto fail;
    d->mask = size - 1;
    d->window = window;
    d->keep_s = keep_s;
    randombytes_buf(d->key, sizeof d->key);
    if (!path)
        return d;
    if (!(d->log = open_log(path, why, whylen)))
        goto fail;
    rewind(d->log);
    while (fgets(line, sizeof line, d->log)) {
        line[strcspn(line, "\n")] = '\0';
        if (line[0] && !dedup_seen(d, line))
            remember(d, hash_id(d, line), 0);
    }
    return d;
fail:
    if (why[0] == '\0')
        snprintf(why, whylen, "out of memory");
    dedup_close(d);
    return NULL;
}

void dedup_close(dedup *d)
{
    if (!d)
        return;
    if (d->log)
        fclose(d->log);
    free(d->table);
    free(d->fifo);
    free(d->when);
    free(d);
}

int dedup_seen(const dedup *d, const char *id)
{
    uint64_t h = hash_id(d, id);
    return d->table[find(d, h)] == h;
}

int dedup_add(dedup *d, const char *id, uint32_t now)
{
    if (strlen(id) > ID_MAX || strchr(id, '\n'))
        return -1;
    if (d->log && (fprintf(d->log, "%s\n", id) < 0 || fflush(d->log) != 0))
        return -1;
    return remember(d, hash_id(d, id), now ? now : 1);
}
