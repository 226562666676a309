/* eventgate.c — see eventgate.h. */
#include "eventgate.h"

#include "errstream.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

long pub_eventgate_refused(const char *answer, size_t len, pub_buf *errors, const char *queue, int64_t now_ms)
{
    static const char *const lists[] = { "invalid", "error" };
    json_error_t e;
    json_t *root = json_loadb(answer, len, 0, &e);
    size_t mark = errors->len;
    long n = 0;
    if (!json_is_object(root)) {
        json_decref(root);
        return -1;
    }
    for (size_t l = 0; l < 2 && n >= 0; l++) {
        json_t *arr = json_object_get(root, lists[l]), *item;
        size_t i;
        if (arr && !json_is_array(arr))
            n = -1;
        json_array_foreach(arr, i, item) {
            json_t *ev = json_object_get(item, "event");
            const char *msg = json_string_value(json_object_get(json_object_get(item, "context"), "message"));
            char *raw = ev ? json_dumps(ev, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
            char why[300];
            snprintf(why, sizeof why, "eventgate %s: %.250s", lists[l], msg ? msg : "(no message)");
            if (!raw || pub_err_add(errors, queue, "eventgate", why, raw, strlen(raw), now_ms) != 0)
                n = -1;
            else
                n++;
            free(raw);
            if (n < 0)
                break;
        }
    }
    json_decref(root);
    if (n < 0)
        errors->len = mark; /* all or nothing */
    return n;
}
