// The producer header compiled as C++17 (-Wall -Wextra -Werror), used
// together with the C consumer library: put, claim/commit/abort, drain.
#include <ringpub.h>
#include <ringpub_consumer.h>
#include <ringpub_event.h>

#include <criterion/criterion.h>
#include <cstring>
#include <string>
#include <vector>

static std::string ring_dir()
{
    char tmpl[] = "/dev/shm/rpcxx.XXXXXX";
    cr_assert_not_null(mkdtemp(tmpl));
    return tmpl;
}

Test(cxx, put_claim_commit_drain)
{
    std::string dir = ring_dir();
    rp_queue_opts o{};
    o.capacity = 1 << 16;
    o.max_event = 4096;
    o.dir = dir.c_str();
    rp_queue *q = nullptr;
    cr_assert_eq(rp_queue_open(&q, "cxx", &o), 0);

    const std::string a = "{\"event_type\":\"cxx\"}";
    cr_assert_eq(rp_queue_put(q, a.data(), a.size()), 0);
    rp_claim c;
    cr_assert_eq(rp_queue_claim(q, 100, &c), 0);
    std::memcpy(c.data, "claimed", 7);
    cr_assert_eq(rp_queue_commit(q, &c, 7), 0);
    cr_assert_eq(rp_queue_claim(q, 10, &c), 0);
    rp_queue_abort(q, &c);
    cr_assert_eq(rp_queue_put(q, a.data(), 5000), RP_ETOOBIG);

    rp_consumer *cons = nullptr;
    char why[256];
    cr_assert_eq(rp_consumer_open(&cons, "cxx", &o, why, sizeof why), 0, "%s", why);
    std::vector<rp_event> ev(8);
    rp_batch b{ev.data(), ev.size(), 0, 0, 0, 0};
    cr_assert_eq(rp_consumer_poll(cons, &b, 1 << 20), 2);
    cr_assert_eq(std::string(static_cast<const char *>(ev[0].data), ev[0].len), a);
    cr_assert_eq(std::string(static_cast<const char *>(ev[1].data), ev[1].len), "claimed");
    cr_assert_eq(rp_consumer_release(cons, &b), 0);
    cr_assert_str_eq(rp_strerror(RP_EFULL), "queue full");
    rp_consumer_close(cons);
    rp_queue_close(q);
    std::string path = dir + "/cxx";
    unlink(path.c_str());
    rmdir(dir.c_str());
}

/* The event builders compile and work as C++17 too. */
Test(cxx, event_builders)
{
    rp_v1_field f[4];
    rp_v1_event e;
    char buf[512];
    cr_assert_eq(rp_v1_init(&e, "topic", "type", f, 4), 0);
    cr_assert_eq(rp_v1_set_str(&e, "k", "v\"", RP_FIELD_HIGH_CARDINALITY), 0);
    long n = rp_v1_serialize(&e, buf, sizeof buf);
    cr_assert_gt(n, 0);
    cr_assert_not_null(std::strstr(buf, "\"interana_excluded\":{\"k\":\"v\\\"\"}"), "%s", buf);
    rp_json w;
    rp_json_init(&w, buf, sizeof buf);
    rp_ep_begin(&w, "/s/1.0.0", "st");
    cr_assert_gt(rp_ep_end(&w), 0);
}
