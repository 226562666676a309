/* store.c — see store.h. */
#include "store.h"

#include "outdir.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_QUEUES 256

struct store {
    int dirfd, sync;
    struct { char name[65]; int fd; } q[MAX_QUEUES];
    int nq;
};

store *store_open(const char *dir, int sync, char *why, size_t whylen)
{
    store *s = (store *)calloc(1, sizeof *s);
    if (!s) {
        snprintf(why, whylen, "out of memory");
        return NULL;
    }
    s->sync = sync;
    if ((s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        snprintf(why, whylen, "output directory %s: %s", dir, strerror(errno));
        free(s);
        return NULL;
    }
    return s;
}

void store_close(store *s)
{
    if (!s)
        return;
    for (int i = 0; i < s->nq; i++)
        close(s->q[i].fd);
    close(s->dirfd);
    free(s);
}

static int queue_fd(store *s, const char *queue, char *why, size_t whylen)
{
    char file[80];
    for (int i = 0; i < s->nq; i++)
        if (strcmp(s->q[i].name, queue) == 0)
            return s->q[i].fd;
    if (s->nq == MAX_QUEUES) {
        snprintf(why, whylen, "more than %d queues", MAX_QUEUES);
        return -1;
    }
    snprintf(file, sizeof file, "%s.jsonl", queue);
    int fd = outdir_open(s->dirfd, file, O_WRONLY | O_APPEND, why, whylen);
    if (fd < 0)
        return -1;
    snprintf(s->q[s->nq].name, sizeof s->q[s->nq].name, "%s", queue);
    s->q[s->nq++].fd = fd;
    return fd;
}

int store_lines_of(json_t *events, pub_buf *out)
{
    size_t i;
    json_t *ev;
    json_array_foreach(events, i, ev) {
        char *line = json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY);
        int rc = !line || pub_buf_append(out, line, strlen(line)) != 0 || pub_buf_append(out, "\n", 1) != 0;
        free(line);
        if (rc)
            return -1;
    }
    return 0;
}

int store_append(store *s, const char *queue, const char *lines, size_t len, char *why, size_t whylen)
{
    int fd = queue_fd(s, queue, why, whylen);
    if (fd < 0)
        return -1;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, lines + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            snprintf(why, whylen, "write %s.jsonl: %s", queue, strerror(errno));
            return -1;
        }
        off += (size_t)n;
    }
    if (s->sync && fdatasync(fd) != 0) {
        snprintf(why, whylen, "fsync %s.jsonl: %s", queue, strerror(errno));
        return -1;
    }
    return 0;
}
