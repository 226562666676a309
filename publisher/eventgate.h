/*
 * eventgate.h — the EventGate-style sink (sink = eventgate): a batch is
 * POSTed as a JSON array to eventgate.url (e.g. http://host/v1/events).
 * 201/202: all accepted. 207: partial success — the answer lists the
 * events it refused under "invalid" and "error" ({"event": E, "context":
 * {"message": ...}}); those go to the error stream and the batch is safe.
 * 400: all refused, listed the same way. Other statuses follow the usual
 * retry/spool/dead-letter rules.
 */
#ifndef RINGPUB_EVENTGATE_H
#define RINGPUB_EVENTGATE_H

#include "buf.h"

#include <stddef.h>
#include <stdint.h>

/*
 * pub_eventgate_refused — turn the refused events listed in an EventGate
 * answer (207 or 400) into error events appended to errors. Returns how
 * many, or -1 if the answer is not EventGate's format (then nothing is
 * appended).
 */
long pub_eventgate_refused(const char *answer, size_t len, pub_buf *errors, const char *queue, int64_t now_ms);

#endif
