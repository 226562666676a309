/* check.h — the test framework: Criterion, or, for the ThreadSanitizer
 * build, tests/minicr.h (Criterion cannot run under TSan: its inheritable
 * arena collides with TSan's shadow memory, Snaipe/Criterion#274). */
#ifndef RINGPUB_TEST_CHECK_H
#define RINGPUB_TEST_CHECK_H
#ifdef RP_MINICR
#include "minicr.h"
#else
#include <criterion/criterion.h>
#endif
#endif
