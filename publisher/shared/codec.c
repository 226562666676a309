/* codec.c — see codec.h. Streaming APIs on both sides, so the size cap is
 * enforced while decompressing, never after. */
#include "codec.h"

#include <string.h>
#include <libdeflate.h>
#include <zlib.h>
#include <zstd.h>

#define CHUNK 65536

const char *pub_codec_encoding(pub_compression c)
{
    return c == PUB_ZSTD ? "zstd" : c == PUB_GZIP ? "gzip" : NULL;
}

int pub_codec_from_encoding(const char *enc, pub_compression *c)
{
    if (!enc || !*enc || strcmp(enc, "identity") == 0)
        *c = PUB_NONE;
    else if (strcmp(enc, "zstd") == 0)
        *c = PUB_ZSTD;
    else if (strcmp(enc, "gzip") == 0)
        *c = PUB_GZIP;
    else
        return -1;
    return 0;
}

static int zstd_compress(int level, const void *in, size_t len, pub_buf *out)
{
    static _Thread_local ZSTD_CCtx *cctx; /* one per thread: ZSTD_compress() makes one per call */
    size_t bound = ZSTD_compressBound(len), n;
    if (pub_buf_reserve(out, bound) != 0 || (!cctx && !(cctx = ZSTD_createCCtx())))
        return -1;
    n = ZSTD_compressCCtx(cctx, out->data, bound, in, len, level < 0 ? 3 : level);
    if (ZSTD_isError(n))
        return -1;
    out->len = n;
    return 0;
}

/* gzip through libdeflate: whole-buffer, which is what a batch is, and about
 * twice zlib's speed at the same level (zlib's deflate was 57% of the
 * daemon's CPU on baseplate's wire). One compressor per thread and level. */
static int gzip_compress(int level, const void *in, size_t len, pub_buf *out)
{
    static _Thread_local struct libdeflate_compressor *cz;
    static _Thread_local int cz_level = -1;
    size_t bound, n;
    level = level < 0 ? 6 : (level > 9 ? 9 : level);
    if (!cz || cz_level != level) {
        if (cz)
            libdeflate_free_compressor(cz);
        cz = libdeflate_alloc_compressor(level);
        cz_level = cz ? level : -1;
        if (!cz)
            return -1;
    }
    bound = libdeflate_gzip_compress_bound(cz, len);
    if (pub_buf_reserve(out, bound) != 0)
        return -1;
    n = libdeflate_gzip_compress(cz, in, len, out->data, bound);
    if (n == 0)
        return -1;
    out->len = n;
    return 0;
}

int pub_compress(pub_compression c, int level, const void *in, size_t len, pub_buf *out)
{
    out->len = 0;
    if (len > UINT32_MAX)
        return -1;
    if (c == PUB_ZSTD)
        return zstd_compress(level, in, len, out);
    if (c == PUB_GZIP)
        return gzip_compress(level, in, len, out);
    return pub_buf_append(out, in, len);
}

/* Make room for the next piece of output: at most CHUNK, never past the
 * limit. Returns the room (0 at the limit), or -1 when out of memory. */
static long long next_room(pub_buf *out)
{
    size_t room = out->limit - out->len;
    if (room > CHUNK)
        room = CHUNK;
    if (room && pub_buf_reserve(out, room) != 0)
        return -1;
    return (long long)room;
}

static int zstd_decompress(const void *in, size_t len, pub_buf *out)
{
    ZSTD_DStream *d = ZSTD_createDStream();
    ZSTD_inBuffer ib = { in, len, 0 };
    uint8_t probe;
    int rc = 1;
    if (!d)
        return -1;
    while (rc == 1) {
        long long room = next_room(out);
        ZSTD_outBuffer ob = { room > 0 ? out->data + out->len : &probe, room > 0 ? (size_t)room : 1, 0 };
        size_t ret = room < 0 ? 0 : ZSTD_decompressStream(d, &ob, &ib);
        if (room < 0 || ZSTD_isError(ret))
            rc = -1;
        else if (room == 0 && (ob.pos > 0 || ret != 0))
            rc = -2; /* more output than the limit allows */
        else if (ret == 0 && ib.pos == ib.size)
            rc = 0;
        else if (ib.pos == ib.size && ob.pos < ob.size)
            rc = -1; /* truncated frame */
        if (room > 0)
            out->len += ob.pos;
    }
    ZSTD_freeDStream(d);
    return rc;
}

static int gzip_decompress(const void *in, size_t len, pub_buf *out)
{
    z_stream z;
    uint8_t probe;
    int rc = 1;
    memset(&z, 0, sizeof z);
    if (len > UINT32_MAX || inflateInit2(&z, 15 + 16) != Z_OK)
        return -1;
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    while (rc == 1) {
        long long room = next_room(out);
        if (room < 0) {
            rc = -1;
            break;
        }
        z.next_out = room > 0 ? out->data + out->len : &probe;
        z.avail_out = room > 0 ? (uInt)room : 1;
        uInt before = z.avail_out;
        int zr = inflate(&z, Z_NO_FLUSH);
        uInt produced = before - z.avail_out;
        if (zr != Z_OK && zr != Z_STREAM_END)
            rc = -1;
        else if (room == 0 && (produced > 0 || zr != Z_STREAM_END))
            rc = zr == Z_OK && produced == 0 && z.avail_in == 0 ? -1 : -2;
        else if (zr == Z_STREAM_END)
            rc = z.avail_in == 0 ? 0 : -1; /* trailing bytes after the stream */
        else if (z.avail_in == 0 && produced < before)
            rc = -1; /* truncated */
        if (room > 0)
            out->len += produced;
    }
    inflateEnd(&z);
    return rc;
}

int pub_decompress(pub_compression c, const void *in, size_t len, pub_buf *out)
{
    out->len = 0;
    if (c == PUB_ZSTD)
        return zstd_decompress(in, len, out);
    if (c == PUB_GZIP)
        return gzip_decompress(in, len, out);
    if (len > out->limit)
        return -2;
    return pub_buf_append(out, in, len);
}
