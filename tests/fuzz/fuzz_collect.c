/*
 * fuzz_collect — ringcollect's batch handling (collect_handle_batch): the
 * checks on headers, decompression with caps, the MAC, batch body parsing,
 * de-duplication and storage. Input: a flags byte, header lines up to a NUL
 * byte ("Name: value\n", they override the generated ones), then the body.
 * Flags pick the codec (or send the body raw as "compressed" bytes), v2 or
 * v2j, and whether the MAC is correct, so that fuzzed bodies get past the
 * signature check and reach the parser. Flag 128 signs in ringpub's
 * timestamped form (sign.h) instead of baseplate's. Flag 64 feeds the bytes
 * to the EventGate endpoint's judge instead. A Content-Length header goes
 * through the check made before a body is read.
 */
#include "buf.h"
#include "cleanup.h"
#include "codec.h"
#include "config.h"
#include "v1events.h"
#include "server.h"
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAXH 12

typedef struct {
    char name[MAXH][64], value[MAXH][256];
    int n;
} headers;

static collect_server *srv;
static uint8_t secret[64];
static size_t secret_len;

static const char *get(void *ctx, const char *name)
{
    headers *h = (headers *)ctx;
    for (int i = h->n - 1; i >= 0; i--)
        if (strcasecmp(h->name[i], name) == 0)
            return h->value[i];
    return NULL;
}

static void add(headers *h, const char *name, const char *value)
{
    if (h->n == MAXH)
        return;
    snprintf(h->name[h->n], sizeof h->name[0], "%s", name);
    snprintf(h->value[h->n], sizeof h->value[0], "%s", value);
    h->n++;
}

static void setup(void)
{
    static char out[] = "/dev/shm/rp-fuzz-collect-XXXXXX";
    collect_cfg c;
    char why[300];
    if (sodium_init() < 0 || !mkdtemp(out))
        abort();
    fuzz_remove_at_exit(out);
    memset(&c, 0, sizeof c);
    snprintf(c.host, sizeof c.host, "127.0.0.1");
    snprintf(c.out_dir, sizeof c.out_dir, "%s", out);
    snprintf(c.keys[0].name, sizeof c.keys[0].name, "%s", PUB_DEV_KEY_NAME);
    sodium_base642bin(c.keys[0].secret, sizeof c.keys[0].secret, PUB_DEV_SECRET_B64, strlen(PUB_DEV_SECRET_B64),
                      NULL, &c.keys[0].len, NULL, sodium_base64_VARIANT_ORIGINAL);
    memcpy(secret, c.keys[0].secret, c.keys[0].len);
    secret_len = c.keys[0].len;
    c.keys[0].untimestamped = 1; /* both forms reach the parser */
    c.nkeys = 1;
    c.max_body = 1u << 20;
    c.max_decompressed = 4u << 20;
    c.replay_window_s = 300;
    c.dedup_window = 1024;
    c.fail_status = 503;
    if (!(srv = collect_start(&c, why, sizeof why))) {
        fprintf(stderr, "fuzz_collect: %s\n", why);
        abort();
    }
}

/* Header lines "Name: value\n" from the front of the input. */
static void parse_headers(headers *h, const char *p, size_t n)
{
    while (n > 0) {
        const char *nl = memchr(p, '\n', n), *colon;
        size_t len = nl ? (size_t)(nl - p) : n;
        char line[320];
        snprintf(line, sizeof line, "%.*s", (int)(len < 319 ? len : 319), p);
        if ((colon = strchr(line, ':'))) {
            line[colon - line] = '\0';
            add(h, line, colon + 1 + (colon[1] == ' '));
        }
        p += len + (nl != NULL);
        n -= len + (nl != NULL);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    headers h = { .n = 0 };
    char mac[PUB_MAC_HEX], sig[300], msg[300];
    const char *ra;
    pub_buf wire;
    if (!srv)
        setup();
    if (n < 1)
        return 0;
    uint8_t flags = in[0];
    if (flags & 64) { /* the EventGate endpoint's judge on the raw bytes */
        json_t *acc = NULL;
        char *answer = NULL;
        int st = eventgate_judge((const char *)in + 1, n - 1, &acc, &answer);
        if ((st != 201 && st != 207 && st != 400) || (st != 201 && !answer))
            abort();
        json_decref(acc);
        free(answer);
        return 0;
    }
    const uint8_t *nul = (const uint8_t *)memchr(in + 1, 0, n - 1);
    size_t hlen = nul ? (size_t)(nul - in - 1) : 0;
    const uint8_t *body = in + 1 + hlen + (nul != NULL);
    size_t blen = n - 1 - hlen - (nul != NULL);

    static const pub_compression codecs[] = { PUB_NONE, PUB_GZIP, PUB_ZSTD, PUB_ZSTD };
    pub_compression codec = codecs[flags & 3];
    pub_buf_init(&wire, 8u << 20);
    if ((flags & 3) == 3) /* the body as given: fuzz the decompressor */
        pub_buf_append(&wire, body, blen);
    else if (pub_compress(codec, 1, body, blen, &wire) != 0)
        abort();
    const char *enc = pub_codec_encoding(codec);
    if (enc)
        add(&h, "Content-Encoding", enc);
    pub_sign(secret, secret_len, NULL, body, blen, mac);
    const char *id = (flags & 16) ? ((flags & 32) ? "fixed-id" : "other-id") : NULL;
    char ts[32];
    if (flags & 128) { /* ringpub's form: time, id and queue covered */
        long long now = (long long)time(NULL);
        char body_mac[PUB_MAC_HEX];
        memcpy(body_mac, mac, sizeof body_mac);
        pub_sign_stamped(secret, secret_len, now, id ? id : "", "fz", body_mac, mac);
        snprintf(ts, sizeof ts, "%lld", now);
        add(&h, "X-Signature-Timestamp", ts);
    }
    if (flags & 8)
        mac[0] = mac[0] == 'a' ? 'b' : 'a';
    pub_sign_header(sig, sizeof sig, PUB_DEV_KEY_NAME, mac);
    add(&h, "X-Signature", sig);
    add(&h, "X-Ringpub-Queue", "fz");
    if (id)
        add(&h, "X-Batch-Id", id);
    parse_headers(&h, (const char *)in + 1, hlen);
    const char *cl = get(&h, "Content-Length");
    size_t cl_n;
    if (cl && collect_content_length(cl, 1u << 20, &cl_n) == 0 &&
        (cl_n > (1u << 20) || strspn(cl, "0123456789") != strlen(cl)))
        abort(); /* accepted a length over the cap or not plain digits */
    collect_headers ch = { get, &h };
    int status = collect_handle_batch(srv, &ch, wire.data, wire.len, 0, (flags >> 2) & 1, msg, sizeof msg, &ra);
    if (status < 200 || status > 599)
        abort();
    pub_buf_free(&wire);
    return 0;
}
