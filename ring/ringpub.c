/*
 * ringpub.c — libringpub as one translation unit, as SQLite builds its
 * amalgamation: the internal functions (RP_PRIVATE, consumer_internal.h)
 * are static here, so the library exports only the public API
 * (ringpub_consumer.h) and a user's rp__ names never collide with ours.
 * The tests compile the files one by one instead, to reach the internals.
 */
#define RP_PRIVATE static

#include "consumer.c"
#include "recover.c"
#include "wait.c"
#include "stats.c"
#include "quarantine.c"
#include "pin.c"
#include "guard.c"
#include "peek.c"
