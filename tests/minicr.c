/* minicr.c — the runner behind minicr.h: one forked child per test. */
#include "minicr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define MAX_TESTS 128

static struct {
    const char *suite, *name;
    void (*fn)(void);
    const struct mc_suite *s;
} tests[MAX_TESTS];
static int ntests;
static int failed_expect;
static void (*tests_current_fini)(void);

void mc_register(const char *suite, const char *name, void (*fn)(void), const struct mc_suite *s)
{
    if (ntests == MAX_TESTS) {
        fprintf(stderr, "minicr: more than %d tests\n", MAX_TESTS);
        exit(2);
    }
    tests[ntests].suite = suite;
    tests[ntests].name = name;
    tests[ntests].fn = fn;
    tests[ntests].s = s;
    ntests++;
}

void mc_fail(const char *file, int line, const char *expr, int fatal, const char *fmt, ...)
{
    va_list ap;
    fprintf(stderr, "[----] %s:%d: %s failed: %s", file, line, fatal ? "assertion" : "expectation", expr);
    if (fmt[0]) {
        fputs(": ", stderr);
        va_start(ap, fmt);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputc('\n', stderr);
    failed_expect = 1;
    if (fatal)
        exit(1);
}

#define MC_SKIPPED 77

void mc_skip(const char *why)
{
    fprintf(stderr, "[SKIP] %s\n", why);
    if (tests_current_fini)
        tests_current_fini();
    exit(MC_SKIPPED);
}

/* 1 passed, 0 failed, -1 skipped */
static int run_one(int i)
{
    int status;
    pid_t pid = fork();
    if (pid < 0)
        return 0;
    if (pid == 0) {
        tests_current_fini = tests[i].s->fini;
        if (tests[i].s->init)
            tests[i].s->init();
        tests[i].fn();
        if (tests[i].s->fini)
            tests[i].s->fini();
        exit(failed_expect);
    }
    if (waitpid(pid, &status, 0) != pid)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == MC_SKIPPED)
        return -1;
    return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

int main(void)
{
    int passed = 0, skipped = 0;
    for (int i = 0; i < ntests; i++) {
        int ok = run_one(i);
        passed += ok == 1;
        skipped += ok == -1;
        fprintf(stderr, "[%s] %s::%s\n", ok == 1 ? "PASS" : ok ? "SKIP" : "FAIL", tests[i].suite, tests[i].name);
    }
    /* Same summary line as Criterion, so tools/test can add them up. */
    fprintf(stderr, "[====] Synthesis: Tested: %d | Passing: %d | Failing: %d | Crashing: 0 | Skipped: %d (minicr)\n",
            ntests, passed, ntests - passed - skipped, skipped);
    return passed + skipped == ntests ? 0 : 1;
}
