/*
 * v1events.h — ringcollect's EventGate-style endpoint (POST /v1/events),
 * a local stand-in for Wikimedia's EventGate: the body is a JSON array of
 * events (or one event); an event is accepted when it is an object with a
 * string "$schema" and a string meta.stream.
 */
#ifndef RINGCOLLECT_V1EVENTS_H
#define RINGCOLLECT_V1EVENTS_H

#include <jansson.h>
#include <stddef.h>

/*
 * eventgate_judge — 201 (all accepted), 207 (some refused) or 400 (none
 * accepted, or not JSON). *accepted gets a new array of the accepted
 * events; *answer (malloc'ed, or NULL for 201) lists the refused ones as
 * EventGate does: {"invalid":[{"status":"invalid","event":E,"context":
 * {"message":"..."}}],"error":[]}.
 */
int eventgate_judge(const char *body, size_t len, json_t **accepted, char **answer);

#endif
