/* sign.c — see sign.h. */
#include "sign.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

void pub_sign(const uint8_t *key, size_t keylen, const char *prefix, const void *body, size_t len,
              char hex[PUB_MAC_HEX])
{
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, keylen);
    if (prefix)
        crypto_auth_hmacsha256_update(&st, (const uint8_t *)prefix, strlen(prefix));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)body, len);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, PUB_MAC_HEX, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

void pub_sign_stamped(const uint8_t *key, size_t keylen, long long ts, const char *id, const char *queue,
                      const char body_mac[PUB_MAC_HEX], char hex[PUB_MAC_HEX])
{
    char prefix[64];
    snprintf(prefix, sizeof prefix, "%lld\n", ts);
    crypto_auth_hmacsha256_state st;
    uint8_t mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, keylen);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)prefix, strlen(prefix));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)id, strlen(id));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)queue, strlen(queue));
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)"\n", 1);
    crypto_auth_hmacsha256_update(&st, (const uint8_t *)body_mac, PUB_MAC_HEX - 1);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2hex(hex, PUB_MAC_HEX, mac, sizeof mac);
    sodium_memzero(&st, sizeof st);
}

int pub_sign_header(char *out, size_t outlen, const char *key_name, const char hex[PUB_MAC_HEX])
{
    int n = snprintf(out, outlen, "key=%s, mac=%s", key_name, hex);
    return n > 0 && (size_t)n < outlen ? 0 : -1;
}

int pub_sign_parse(const char *h, char *name, size_t namelen, char hex[PUB_MAC_HEX])
{
    const char *k = strstr(h, "key="), *m = strstr(h, "mac="), *end;
    size_t n;
    if (!k || !m || k > m)
        return -1;
    k += 4;
    end = strchr(k, ',');
    if (!end || end > m || (n = (size_t)(end - k)) == 0 || n >= namelen)
        return -1;
    memcpy(name, k, n);
    name[n] = '\0';
    m += 4;
    n = strspn(m, "0123456789abcdef");
    if (n != PUB_MAC_HEX - 1 || m[n] != '\0')
        return -1;
    memcpy(hex, m, PUB_MAC_HEX);
    return 0;
}

int pub_sign_equal(const char a[PUB_MAC_HEX], const char b[PUB_MAC_HEX])
{
    return sodium_memcmp(a, b, PUB_MAC_HEX - 1) == 0;
}
