/*
 * ini.h — a strict reader for INI files as baseplate writes them:
 * [section] headers, `key = value` or `key: value`, comments starting with
 * '#' or ';', values trimmed. Lines over INI_LINE_MAX bytes, continuation
 * lines, keys outside a section, a key set twice in a section and a
 * section that appears twice are errors, not guesses.
 */
#ifndef RINGPUB_INI_H
#define RINGPUB_INI_H

#define INI_LINE_MAX 4096
#define INI_FILE_MAX (1 << 20) /* bytes read at most: /dev/zero is not a config */
#define INI_NAME_MAX 255       /* a section name's length */

#include <stddef.h>

/* Called for each key; return 0 to go on, -1 to stop (with err filled). */
typedef int (*ini_cb)(void *ud, const char *section, const char *key, const char *value, int line,
                      char *err, size_t errlen);

/* ini_parse_file — parse `path` (at most INI_FILE_MAX bytes; a pipe or
 * /dev/stdin is fine), calling cb for every key. Returns 0, or -1 with one
 * line in err ("line N: what", or what is wrong with the file; the caller
 * names the file). */
int ini_parse_file(const char *path, ini_cb cb, void *ud, char *err, size_t errlen);

/* ini_expand_env — copy in to out[outlen], replacing $VAR and ${VAR} with
 * the environment's value ("$$" is a literal '$'). Returns 0, or -1 with one
 * line in err (unset variable, unterminated ${, result too long). */
int ini_expand_env(const char *in, char *out, size_t outlen, char *err, size_t errlen);

#endif
