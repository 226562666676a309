/* units.h — sizes and durations as people write them: one parser for the
 * daemon's config, ringcollect's and ringctl's options. */
#ifndef RINGPUB_UNITS_H
#define RINGPUB_UNITS_H

#include <stdint.h>

/* pub_parse_size / pub_parse_ms — "500KiB" -> bytes, "1.5s" -> ms.
 * Return 0 or -1 on a malformed or out-of-range value. */
int pub_parse_size(const char *s, uint64_t *out);
int pub_parse_ms(const char *s, uint32_t *out);

#endif
