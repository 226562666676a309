/* v1events.c — see v1events.h. */
#include "v1events.h"

#include <stdio.h>
#include <string.h>

/* Why an event is refused, or NULL. */
static const char *refusal(json_t *ev)
{
    if (!json_is_object(ev))
        return "event is not a JSON object";
    if (!json_is_string(json_object_get(ev, "$schema")))
        return "'$schema' is a required property";
    if (!json_is_string(json_object_get(json_object_get(ev, "meta"), "stream")))
        return "'meta.stream' is a required property";
    return NULL;
}

int eventgate_judge(const char *body, size_t len, json_t **accepted, char **answer)
{
    json_error_t e;
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &e), *ev;
    json_t *invalid = json_array();
    size_t i;
    *accepted = json_array();
    *answer = NULL;
    if (root && !json_is_array(root)) { /* one event on its own */
        json_t *one = json_array();
        json_array_append_new(one, root);
        root = one;
    }
    if (!root) {
        char msg[200];
        snprintf(msg, sizeof msg, "body is not JSON: %s", e.text);
        json_array_append_new(invalid, json_pack("{s:s, s:n, s:{s:s}}", "status", "invalid", "event", "context",
                                                 "message", msg));
    }
    json_array_foreach(root, i, ev) {
        const char *why = refusal(ev);
        if (why)
            json_array_append_new(invalid, json_pack("{s:s, s:O, s:{s:s}}", "status", "invalid", "event", ev,
                                                     "context", "message", why));
        else
            json_array_append(*accepted, ev);
    }
    json_decref(root);
    int status = json_array_size(invalid) == 0 ? 201 : json_array_size(*accepted) ? 207 : 400;
    if (status != 201) {
        json_t *ans = json_pack("{s:o, s:[]}", "invalid", invalid, "error");
        *answer = ans ? json_dumps(ans, JSON_COMPACT) : NULL;
        json_decref(ans);
    } else {
        json_decref(invalid);
    }
    return status;
}
