/* cleanup.h — a fuzz target's scratch directory goes when the process does
 * (libFuzzer ends with exit(), so atexit handlers run). */
#ifndef RINGPUB_FUZZ_CLEANUP_H
#define RINGPUB_FUZZ_CLEANUP_H

#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>

static const char *fuzz_scratch;

static int fuzz_rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
    (void)st, (void)flag, (void)f;
    return remove(p);
}

static void fuzz_remove_scratch(void)
{
    if (fuzz_scratch)
        nftw(fuzz_scratch, fuzz_rm_one, 8, FTW_DEPTH | FTW_PHYS);
}

/* Remove path (a file or a directory tree) at exit; call once. */
static inline void fuzz_remove_at_exit(const char *path)
{
    fuzz_scratch = path;
    atexit(fuzz_remove_scratch);
}

#endif
