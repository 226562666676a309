/*
 * sign.h — the X-Signature header baseplate's collector checks:
 *     X-Signature: key=NAME, mac=HEX
 * where HEX is the lowercase hex HMAC-SHA256 (libsodium) of the
 * uncompressed body under the secret (baseplate's form).
 *
 * ringpub's form (signature.timestamp, on by default for ringpub's own
 * protocol): the request also carries X-Signature-Timestamp: TS (Unix
 * seconds), and the mac is the hex HMAC-SHA256 of
 *     "TS\nBATCH_ID\nQUEUE\nBODY_MAC"
 * where BODY_MAC is baseplate's hex mac of the body and QUEUE the
 * X-Ringpub-Queue value. So the batch id, the queue and the time are
 * covered, a collector can refuse replays (a window on TS, each id stored
 * once), and a retry or spool replay hours later is signed afresh without
 * the body (the daemon keeps BODY_MAC). Baseplate's collector does not know
 * this form.
 */
#ifndef RINGPUB_SIGN_H
#define RINGPUB_SIGN_H

#include <stddef.h>
#include <stdint.h>

#define PUB_MAC_HEX 65 /* 64 hex digits + NUL */

/* The embedded development key, shared by ringpub's and ringcollect's
 * defaults so the demo works out of the box. Never use it in production. */
#define PUB_DEV_KEY_NAME "ringpub-dev"
#define PUB_DEV_SECRET_B64 "cmluZ3B1Yi1kZXZlbG9wbWVudC1zZWNyZXQtMDAwMDA="

/* pub_sign — hex HMAC-SHA256 of [prefix] + body into hex[PUB_MAC_HEX].
 * prefix may be NULL. */
void pub_sign(const uint8_t *key, size_t keylen, const char *prefix, const void *body, size_t len,
              char hex[PUB_MAC_HEX]);

/* pub_sign_stamped — ringpub's form: hex HMAC-SHA256 of
 * "TS\nID\nQUEUE\nBODY_MAC" into hex[PUB_MAC_HEX]; body_mac is pub_sign()'s
 * hex of the body without a prefix. */
void pub_sign_stamped(const uint8_t *key, size_t keylen, long long ts, const char *id, const char *queue,
                      const char body_mac[PUB_MAC_HEX], char hex[PUB_MAC_HEX]);

/* pub_sign_header — "key=NAME, mac=HEX" into out[outlen]; -1 if too long. */
int pub_sign_header(char *out, size_t outlen, const char *key_name, const char hex[PUB_MAC_HEX]);

/* pub_sign_parse — split a received X-Signature value into its key name
 * and mac. Returns 0, or -1 when malformed. */
int pub_sign_parse(const char *header, char *name, size_t namelen, char hex[PUB_MAC_HEX]);

/* pub_sign_equal — constant-time comparison of two hex MACs (1 if equal). */
int pub_sign_equal(const char a[PUB_MAC_HEX], const char b[PUB_MAC_HEX]);

#endif
