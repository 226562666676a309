/*
 * shim.c — the producer (include/ringpub.h, header-only) as a small shared
 * library, so Python can call it through ctypes (python/ringpub). Only
 * plain C types cross the boundary.
 */
#include <ringpub.h>

#include <stdint.h>
#include <string.h>

#define RPY_API __attribute__((visibility("default")))

/* rpy_open — open (creating if needed) queue `name` in `dir` (NULL:
 * $RINGPUB_DIR or /dev/shm); capacity/max_event apply when creating (0:
 * defaults); gid >= 0 shares the ring with that group (RP_OPT_GROUP).
 * Returns a handle, or NULL with *rc and why set. */
RPY_API void *rpy_open(const char *name, const char *dir, uint64_t capacity, uint32_t max_event, int64_t gid,
                       int *rc, char *why, size_t whylen)
{
    rp_queue_opts o;
    rp_queue *q = NULL;
    memset(&o, 0, sizeof o);
    o.dir = dir;
    o.capacity = capacity;
    o.max_event = max_event;
    if (gid >= 0) {
        o.flags |= RP_OPT_GROUP;
        o.gid = (uint32_t)gid;
    }
    *rc = rp_queue_open_why(&q, name, &o, why, whylen);
    return *rc ? NULL : q;
}

/* rpy_put — rp_queue_put: 0 or an RP_E* code. */
RPY_API int rpy_put(void *q, const void *data, size_t len)
{
    return rp_queue_put((rp_queue *)q, data, len);
}

/* rpy_max_event — the queue's largest event in bytes. */
RPY_API size_t rpy_max_event(void *q)
{
    return rp_queue_max_event((rp_queue *)q);
}

/* rpy_close — NULL is allowed. */
RPY_API void rpy_close(void *q)
{
    rp_queue_close((rp_queue *)q);
}

/* rpy_strerror — one line for an RP_E* code. */
RPY_API const char *rpy_strerror(int rc)
{
    return rp_strerror(rc);
}
