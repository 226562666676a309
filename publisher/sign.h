/*
 * sign.h — the X-Signature header baseplate's collector checks:
 *     X-Signature: key=NAME, mac=HEX
 * where HEX is the lowercase hex HMAC-SHA256 (libsodium) of the
 * uncompressed body under the secret. With signature.timestamp on, the MAC
 * covers "TIMESTAMP\nBATCH_ID\nBODY" instead and the request also carries
 * X-Signature-Timestamp, so a collector can refuse replays (baseplate's
 * collector does not know this form: enable it only with ringcollect).
 */
#ifndef RINGPUB_SIGN_H
#define RINGPUB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define PUB_MAC_HEX 65 /* 64 hex digits + NUL */

/* pub_sign — hex HMAC-SHA256 of [prefix] + body into hex[PUB_MAC_HEX].
 * prefix may be NULL. */
void pub_sign(const uint8_t *key, size_t keylen, const char *prefix, const void *body, size_t len,
              char hex[PUB_MAC_HEX]);

/* pub_sign_header — "key=NAME, mac=HEX" into out[outlen]; -1 if too long. */
int pub_sign_header(char *out, size_t outlen, const char *key_name, const char hex[PUB_MAC_HEX]);

/* pub_sign_parse — split a received X-Signature value into its key name
 * and mac. Returns 0, or -1 when malformed. */
int pub_sign_parse(const char *header, char *name, size_t namelen, char hex[PUB_MAC_HEX]);

/* pub_sign_equal — constant-time comparison of two hex MACs (1 if equal). */
int pub_sign_equal(const char a[PUB_MAC_HEX], const char b[PUB_MAC_HEX]);

#endif
