/*
 * minicr.h — the subset of Criterion's API our tests use, for builds where
 * Criterion cannot run (ThreadSanitizer). Each test runs in a forked child,
 * as under Criterion; a failed cr_assert ends the child, a failed cr_expect
 * marks it failed and goes on. The runner (minicr.c) prints one line per
 * test and "N passed, N failed".
 */
#ifndef RINGPUB_MINICR_H
#define RINGPUB_MINICR_H

#include <stddef.h>
#include <string.h>

struct mc_suite {
    void (*init)(void);
    void (*fini)(void);
};

void mc_register(const char *suite, const char *name, void (*fn)(void), const struct mc_suite *s);
void mc_fail(const char *file, int line, const char *expr, int fatal, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

#define TestSuite(suite, ...) static const struct mc_suite mc_suite_##suite = { __VA_ARGS__ }

#define Test(suite, name, ...)                                                   \
    static void mc_t_##suite##_##name(void);                                     \
    __attribute__((constructor)) static void mc_r_##suite##_##name(void)         \
    {                                                                            \
        mc_register(#suite, #name, mc_t_##suite##_##name, &mc_suite_##suite);    \
    }                                                                            \
    static void mc_t_##suite##_##name(void)

#define MC_CHECK(fatal, cond, expr, ...)                                         \
    do {                                                                         \
        if (!(cond))                                                             \
            mc_fail(__FILE__, __LINE__, expr, fatal, "" __VA_ARGS__);            \
    } while (0)

void mc_skip(const char *why) __attribute__((noreturn));
#define cr_skip_test(why) mc_skip(why)
#define cr_assert(c, ...) MC_CHECK(1, (c), #c, __VA_ARGS__)
#define cr_expect(c, ...) MC_CHECK(0, (c), #c, __VA_ARGS__)
#define cr_assert_eq(a, b, ...) MC_CHECK(1, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_assert_neq(a, b, ...) MC_CHECK(1, (a) != (b), #a " != " #b, __VA_ARGS__)
#define cr_assert_lt(a, b, ...) MC_CHECK(1, (a) < (b), #a " < " #b, __VA_ARGS__)
#define cr_assert_leq(a, b, ...) MC_CHECK(1, (a) <= (b), #a " <= " #b, __VA_ARGS__)
#define cr_assert_gt(a, b, ...) MC_CHECK(1, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_assert_geq(a, b, ...) MC_CHECK(1, (a) >= (b), #a " >= " #b, __VA_ARGS__)
#define cr_assert_not_null(p, ...) MC_CHECK(1, (p) != NULL, #p " != NULL", __VA_ARGS__)
#define cr_assert_null(p, ...) MC_CHECK(1, (p) == NULL, #p " == NULL", __VA_ARGS__)
#define cr_assert_str_eq(a, b, ...) MC_CHECK(1, (a) && (b) && strcmp((a), (b)) == 0, #a " == " #b, __VA_ARGS__)
#define cr_expect_eq(a, b, ...) MC_CHECK(0, (a) == (b), #a " == " #b, __VA_ARGS__)
#define cr_expect_gt(a, b, ...) MC_CHECK(0, (a) > (b), #a " > " #b, __VA_ARGS__)
#define cr_expect_lt(a, b, ...) MC_CHECK(0, (a) < (b), #a " < " #b, __VA_ARGS__)

#endif
