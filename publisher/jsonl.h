/*
 * jsonl.h — durable append of one JSON line that carries raw bytes in
 * base64 (dead-letter and quarantine files).
 */
#ifndef RINGPUB_JSONL_H
#define RINGPUB_JSONL_H

#include <stddef.h>

/*
 * pub_jsonl_append_b64 — append JSON object `obj` ("{...}" with at least one
 * member, as rp_json writes it) with one more member, key: base64(bytes),
 * as one line to the file at path (created 0600), then fdatasync it.
 * Returns 0, or -1 with errno set (EINVAL: obj is not such an object); a
 * failed append may leave a partial line.
 */
int pub_jsonl_append_b64(const char *path, const char *obj, const char *key, const void *bytes, size_t len);

/* pub_append_sync — append data[len] to the file at path (created 0600, no
 * symlink followed), then fdatasync it. 0, or -1 with errno. */
int pub_append_sync(const char *path, const void *data, size_t len);

#endif
