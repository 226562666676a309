/* What goes on the wire: batch bodies byte-for-byte as baseplate builds
 * them, the X-Signature MAC, and compression with a decompression cap. */
#include "helpers.h"

#include "batch.h"
#include "check.h"
#include "codec.h"
#include "sign.h"

TestSuite(wire);

static const char *E1 = "{\"1\":{\"str\":\"a\"}}", *E2 = "{\"2\":{\"i64\":5}}";

static void body_is(pub_batch *b, const char *want)
{
    cr_assert_eq(pub_batch_finish(b), 0);
    cr_assert_eq(b->body_len, strlen(want), "body \"%.*s\"", (int)b->body_len, (const char *)b->body);
    cr_assert_eq(memcmp(b->body, want, b->body_len), 0, "body \"%.*s\"", (int)b->body_len,
                 (const char *)b->body);
}

Test(wire, v2_body_is_a_tjson_list)
{
    pub_batch b;
    cr_assert_eq(pub_batch_init(&b, "2", 1000), 0);
    cr_assert_eq(pub_batch_add(&b, E1, strlen(E1)), 0);
    body_is(&b, "{\"1\":{\"lst\":[\"rec\",1,{\"1\":{\"str\":\"a\"}}]}}");
    pub_batch_reset(&b);
    cr_assert_eq(pub_batch_add(&b, E1, strlen(E1)), 0);
    cr_assert_eq(pub_batch_add(&b, E2, strlen(E2)), 0);
    body_is(&b, "{\"1\":{\"lst\":[\"rec\",2,{\"1\":{\"str\":\"a\"}},{\"2\":{\"i64\":5}}]}}");
    pub_batch_free(&b);
}

Test(wire, v2j_body_is_a_json_array)
{
    pub_batch b;
    cr_assert_eq(pub_batch_init(&b, "2j", 1000), 0);
    cr_assert_eq(pub_batch_add(&b, "{}", 2), 0);
    cr_assert_eq(pub_batch_add(&b, "[1]", 3), 0);
    body_is(&b, "[{},[1]]");
    pub_batch_free(&b);
    cr_assert_eq(pub_batch_init(&b, "3", 1000), -1);
}

/* A batch never exceeds max_bytes, framing included; "full" is exact. */
Test(wire, batch_size_limit_is_exact)
{
    char ev[100];
    memset(ev, 'x', sizeof ev);
    for (int json = 0; json < 2; json++) {
        pub_batch b;
        cr_assert_eq(pub_batch_init(&b, json ? "2j" : "2", 1000), 0);
        int rc;
        while ((rc = pub_batch_add(&b, ev, sizeof ev)) == 0)
            ;
        cr_assert_eq(rc, 1);
        pub_batch_finish(&b);
        cr_assert_leq(b.body_len, 1000);
        cr_assert_gt(b.body_len + 101, 1000, "room for one more was wasted (%zu bytes)", b.body_len);
        cr_assert_eq(pub_batch_add(&b, ev, 990), -1, "can never fit");
        pub_batch_free(&b);
    }
}

/* A batch filled to exactly max_bytes is framed whole. pub_batch_finish
 * reserved 3 bytes for any suffix, and a "2j" batch (a 1-byte suffix)
 * filled to the byte came out empty: ringpub sent a 0-byte body for a
 * batch of thousands of events, the collector refused it, and the dead
 * letter kept the empty body (seen in tools/demo, 2742 events). */
Test(wire, batch_filled_to_the_byte_is_framed_whole)
{
    static char ev[1000];
    for (int json = 0; json < 2; json++)
        for (size_t first = 1; first < 40; first++) {
            pub_batch b;
            char want[1100];
            /* "[" E1 "," E2 "," E3 "]", or the v2 list of three: E3 takes what is left (each event
             * leaves room for the largest framing: pub_batch_add refuses one that could not fit alone) */
            size_t framing = json ? 4 : strlen("{\"1\":{\"lst\":[\"rec\",3,") + 2 + 3;
            size_t last = 1000 - framing - first - 400;
            memset(ev, json ? '1' : '2', sizeof ev);
            cr_assert_eq(pub_batch_init(&b, json ? "2j" : "2", 1000), 0);
            cr_assert_eq(pub_batch_add(&b, ev, first), 0);
            cr_assert_eq(pub_batch_add(&b, ev, 400), 0);
            cr_assert_eq(pub_batch_add(&b, ev, last), 0, "%s: %zu + 400 + %zu bytes fit exactly", json ? "2j" : "2",
                         first, last);
            snprintf(want, sizeof want, json ? "[%.*s,%.*s,%.*s]" : "{\"1\":{\"lst\":[\"rec\",3,%.*s,%.*s,%.*s]}}",
                     (int)first, ev, 400, ev, (int)last, ev);
            cr_assert_eq(strlen(want), 1000);
            body_is(&b, want);
            pub_batch_free(&b);
        }
}

/* Known-answer: RFC 4231 test case 2 (key "Jefe"). */
Test(wire, hmac_sha256_known_answer)
{
    char hex[PUB_MAC_HEX], hdr[200], name[64], parsed[PUB_MAC_HEX];
    const char *msg = "what do ya want for nothing?";
    pub_sign((const uint8_t *)"Jefe", 4, NULL, msg, strlen(msg), hex);
    cr_assert_str_eq(hex, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    pub_sign((const uint8_t *)"Jefe", 4, "what do ya ", "want for nothing?", 17, parsed);
    cr_assert_str_eq(parsed, hex, "a prefix is part of the signed bytes");
    cr_assert_eq(pub_sign_header(hdr, sizeof hdr, "TestKey", hex), 0);
    cr_assert_str_eq(hdr, "key=TestKey, mac=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
    cr_assert_eq(pub_sign_parse(hdr, name, sizeof name, parsed), 0);
    cr_assert_str_eq(name, "TestKey");
    cr_assert(pub_sign_equal(parsed, hex));
    parsed[10] ^= 1;
    cr_assert_not(pub_sign_equal(parsed, hex));
    const char *bad[] = { "", "key=, mac=00", "mac=abc, key=x", "key=x, mac=XYZ", "key=x mac=5bdc" };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        cr_assert_eq(pub_sign_parse(bad[i], name, sizeof name, parsed), -1, "parsed \"%s\"", bad[i]);
}

/* ringpub's form: HMAC("TS\nID\nQUEUE\n" + body mac), the expected value
 * from Python's hmac module (tests/hostile/run signs the same way). */
Test(wire, stamped_signature_known_answer)
{
    char body[PUB_MAC_HEX], hex[PUB_MAC_HEX], other[PUB_MAC_HEX];
    const char *msg = "what do ya want for nothing?";
    pub_sign((const uint8_t *)"Jefe", 4, NULL, msg, strlen(msg), body);
    pub_sign_stamped((const uint8_t *)"Jefe", 4, 1700000000, "abc", "q", body, hex);
    cr_assert_str_eq(hex, "7d42b12c543111a058596a9d2fa4b8cb8ef36b40cd7e15c14f9ff486fcc6e685");
    pub_sign_stamped((const uint8_t *)"Jefe", 4, 1700000001, "abc", "q", body, other);
    cr_assert_str_neq(other, hex, "the time is covered");
    pub_sign_stamped((const uint8_t *)"Jefe", 4, 1700000000, "abd", "q", body, other);
    cr_assert_str_neq(other, hex, "the id is covered");
    pub_sign_stamped((const uint8_t *)"Jefe", 4, 1700000000, "abc", "r", body, other);
    cr_assert_str_neq(other, hex, "the queue is covered");
}

static void roundtrip(pub_compression c)
{
    pub_buf in, z, out;
    pub_buf_init(&in, 1 << 20);
    pub_buf_init(&z, 1 << 21);
    pub_buf_init(&out, 1 << 20);
    uint64_t rng = 3;
    for (int i = 0; i < 20000; i++) {
        char w[32];
        int n = snprintf(w, sizeof w, "{\"n\":%llu},", (unsigned long long)(th_rand(&rng) % 1000));
        cr_assert_eq(pub_buf_append(&in, w, (size_t)n), 0);
    }
    cr_assert_eq(pub_compress(c, -1, in.data, in.len, &z), 0);
    if (c != PUB_NONE)
        cr_assert_lt(z.len, in.len / 3, "%s: %zu -> %zu", pub_codec_encoding(c), in.len, z.len);
    cr_assert_eq(pub_decompress(c, z.data, z.len, &out), 0);
    cr_assert_eq(out.len, in.len);
    cr_assert_eq(memcmp(out.data, in.data, in.len), 0);

    /* the cap: one byte short of the real size is refused, exact is fine */
    pub_buf small;
    pub_buf_init(&small, in.len - 1);
    cr_assert_eq(pub_decompress(c, z.data, z.len, &small), -2);
    pub_buf_free(&small);
    pub_buf_init(&small, in.len);
    cr_assert_eq(pub_decompress(c, z.data, z.len, &small), 0);
    pub_buf_free(&small);

    /* truncated and corrupted inputs are errors, never crashes */
    if (c != PUB_NONE) {
        cr_assert_eq(pub_decompress(c, z.data, z.len / 2, &out), -1);
        for (size_t i = 0; i < 200; i++) {
            z.data[th_rand(&rng) % z.len] ^= (uint8_t)(1 + th_rand(&rng) % 255);
            int rc = pub_decompress(c, z.data, z.len, &out);
            cr_assert(rc == 0 || rc == -1 || rc == -2);
        }
    }
    pub_buf_free(&in);
    pub_buf_free(&z);
    pub_buf_free(&out);
}

Test(wire, zstd_roundtrip_and_cap) { roundtrip(PUB_ZSTD); }
Test(wire, gzip_roundtrip_and_cap) { roundtrip(PUB_GZIP); }
Test(wire, none_roundtrip_and_cap) { roundtrip(PUB_NONE); }

/* A 1 GiB zstd bomb stops at the cap. */
Test(wire, decompression_bomb_capped)
{
    pub_buf z, out;
    pub_buf_init(&z, 1 << 20);
    uint8_t *zeros = (uint8_t *)calloc(1, 1 << 24);
    cr_assert_not_null(zeros);
    /* 64 frames of 16 MiB of zeros each = 1 GiB, a few KiB compressed */
    for (int i = 0; i < 64; i++) {
        pub_buf one;
        pub_buf_init(&one, 17 << 20); /* room for ZSTD_compressBound */
        cr_assert_eq(pub_compress(PUB_ZSTD, 1, zeros, 1 << 24, &one), 0);
        cr_assert_eq(pub_buf_append(&z, one.data, one.len), 0);
        pub_buf_free(&one);
    }
    free(zeros);
    pub_buf_init(&out, 8 << 20);
    cr_assert_eq(pub_decompress(PUB_ZSTD, z.data, z.len, &out), -2);
    cr_assert_leq(out.len, 8 << 20);
    pub_buf_free(&z);
    pub_buf_free(&out);
}

Test(wire, content_encoding_names)
{
    pub_compression c;
    cr_assert_eq(pub_codec_from_encoding("zstd", &c), 0);
    cr_assert_eq(c, PUB_ZSTD);
    cr_assert_eq(pub_codec_from_encoding("gzip", &c), 0);
    cr_assert_eq(c, PUB_GZIP);
    cr_assert_eq(pub_codec_from_encoding("", &c), 0);
    cr_assert_eq(c, PUB_NONE);
    cr_assert_eq(pub_codec_from_encoding("br", &c), -1);
    cr_assert_str_eq(pub_codec_encoding(PUB_ZSTD), "zstd");
    cr_assert_null(pub_codec_encoding(PUB_NONE));
}
