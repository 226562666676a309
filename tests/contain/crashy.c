/*
 * crashy.c — LD_PRELOADed into ringpub by tests/test_supervise.c, standing
 * in for a processor bug: jansson's json_loadb, which the processor chain
 * calls on every event, dies of a real SIGSEGV on an event holding
 * "__crash_me__". Every other event goes to the real json_loadb.
 */
#include <dlfcn.h>
#include <jansson.h>
#include <stdint.h>
#include <string.h>

json_t *json_loadb(const char *buffer, size_t buflen, size_t flags, json_error_t *error)
{
    static json_t *(*real)(const char *, size_t, size_t, json_error_t *);
    if (memmem(buffer, buflen, "__crash_me__", 12))
        *(volatile int *)(uintptr_t)16 = 1; /* an invalid address: SIGSEGV */
    if (!real)
        *(void **)&real = dlsym(RTLD_NEXT, "json_loadb");
    return real(buffer, buflen, flags, error);
}
