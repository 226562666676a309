/*
 * hook.h — park a producer thread at an RP_HOOK_* point inside a put, from
 * a test. Include it first (it defines RP_TEST_HOOK before ringpub.h).
 * The armed thread, on reaching hook_at, writes one byte to stopped[1],
 * then blocks reading resume[0] (forever, if it is killed).
 */
#ifndef RINGPUB_TEST_HOOK_H
#define RINGPUB_TEST_HOOK_H

#include <unistd.h>

static void th_hook(int where);
#define RP_TEST_HOOK(where) th_hook(where)
#include "helpers.h"

#include "check.h"

static int hook_at;
static __thread int hook_armed;
static int stopped[2], resume[2];

static void th_hook(int where)
{
    char x = 1;
    if (!hook_armed || where != hook_at)
        return;
    hook_armed = 0;
    if (write(stopped[1], &x, 1) != 1 || read(resume[0], &x, 1) != 1)
        _exit(3);
}

static void hook_setup(int where)
{
    hook_at = where;
    cr_assert_eq(pipe(stopped), 0);
    cr_assert_eq(pipe(resume), 0);
}

static void await_stopped(void)
{
    char x;
    cr_assert_eq(read(stopped[0], &x, 1), 1, "the producer never reached the hook");
}

__attribute__((unused)) static void hook_resume(void)
{
    char x = 1;
    cr_assert_eq(write(resume[1], &x, 1), 1);
}

#endif
