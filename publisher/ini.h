/*
 * ini.h — a strict reader for INI files as baseplate writes them:
 * [section] headers, `key = value` or `key: value`, comments starting with
 * '#' or ';', values trimmed. Lines over INI_LINE_MAX bytes, continuation
 * lines and keys outside a section are errors, not guesses.
 */
#ifndef RINGPUB_INI_H
#define RINGPUB_INI_H

#define INI_LINE_MAX 4096

#include <stddef.h>

/* Called for each key; return 0 to go on, -1 to stop (with err filled). */
typedef int (*ini_cb)(void *ud, const char *section, const char *key, const char *value, int line,
                      char *err, size_t errlen);

/* ini_parse_file — parse `path`, calling cb for every key. Returns 0, or -1
 * with one line in err ("FILE:LINE: what"). */
int ini_parse_file(const char *path, ini_cb cb, void *ud, char *err, size_t errlen);

/* ini_expand_env — copy in to out[outlen], replacing $VAR and ${VAR} with
 * the environment's value ("$$" is a literal '$'). Returns 0, or -1 with one
 * line in err (unset variable, unterminated ${, result too long). */
int ini_expand_env(const char *in, char *out, size_t outlen, char *err, size_t errlen);

#endif
