/* nullspace.toml, a deployment's manifest: the subset of TOML it needs. Top-level keys
 * and [table] sections (one level), each `key = value` on its own line, with values: a
 * basic "string" (escapes \" \\ \n \t \r \uXXXX), a 'literal string', an integer, true
 * or false, or an [array] of those (it may span lines; a trailing comma is allowed).
 * '#' starts a comment outside strings. Pure and bounded: takes untrusted input
 * (tests/fuzz/fuzz_manifest.c). Any thread. */
#ifndef NS_CLI_MANIFEST_H
#define NS_CLI_MANIFEST_H

#include <jansson.h>
#include <stddef.h>

#define MANIFEST_MAX (64u << 10) /* bytes of a manifest */

/* The manifest in text (len bytes) as a JSON object: tables as nested objects. NULL with
 * a message naming the line in err (cap bytes) when it is not valid. */
json_t *manifest_parse(const char *text, size_t len, char *err, size_t cap);

#endif
