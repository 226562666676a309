/*
 * codec.h — batch compression: zstd (Content-Encoding: zstd), gzip
 * (Content-Encoding: gzip, as baseplate) or none, and the reverse with a
 * hard cap on the decompressed size (for the collector: a small body must
 * not inflate into gigabytes).
 */
#ifndef RINGPUB_CODEC_H
#define RINGPUB_CODEC_H

#include "buf.h"

typedef enum { PUB_ZSTD, PUB_GZIP, PUB_NONE } pub_compression;

/* Content-Encoding for a codec: "zstd", "gzip", or NULL for none. */
const char *pub_codec_encoding(pub_compression c);

/* pub_codec_from_encoding — parse a Content-Encoding ("" or "identity" is
 * none). Returns 0 or -1 (unsupported). */
int pub_codec_from_encoding(const char *enc, pub_compression *c);

/*
 * pub_compress — compress in[len] with codec c at level (-1: the codec's
 * default) into out (replacing its contents). Returns 0 or -1.
 */
int pub_compress(pub_compression c, int level, const void *in, size_t len, pub_buf *out);

/*
 * pub_decompress — decompress in[len] into out (replacing its contents),
 * refusing to produce more than out->limit bytes. Returns 0, -1 (malformed
 * input) or -2 (over the limit).
 */
int pub_decompress(pub_compression c, const void *in, size_t len, pub_buf *out);

#endif
