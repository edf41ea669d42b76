/* The Dockerfile subset templates are built from, translated to build steps (JSON):
 *
 *   {"op":"from","image":"base"}                  FROM (one stage; ARGs before it count)
 *   {"op":"run","cmd":"..."} / {"op":"run","argv":[...]}           RUN (shell / exec form;
 *                                 "args": the ARG values declared so far, if any)
 *   {"op":"copy","src":["a","b"],"dest":"/app/","chown":"u:g"}     COPY, ADD (local only)
 *   {"op":"env","vars":{"K":"V"}}                 ENV (both forms)
 *   {"op":"workdir","path":"/app"}                WORKDIR (relative ones resolved)
 *   {"op":"user","user":"app"}                    USER
 *   {"op":"expose","ports":[8000]}                EXPOSE
 *   {"op":"start","cmd":"..."} / {"op":"start","argv":[...]}   CMD/ENTRYPOINT, last one
 *
 * every step with "line" (1-based, where its instruction starts). ARG declares build
 * variables; `$V`, `${V}`, `${V:-default}`, `${V:+alt}` are replaced in FROM, COPY/ADD,
 * ENV, WORKDIR, USER and EXPOSE (RUN and CMD are left to the shell, which gets the ENV
 * and ARG values). Anything else — other instructions, a second FROM, COPY --from, ADD
 * of a URL — is an error naming its line. Thread-safe; parses untrusted text (fuzzed:
 * tests/fuzz/fuzz_dockerfile.c). */
#ifndef NS_DOCKERFILE_H
#define NS_DOCKERFILE_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"

#define DOCKERFILE_MAX       (256u << 10) /* bytes */
#define DOCKERFILE_MAX_STEPS 500

/* Parses text (len bytes) with build_args (object of strings, may be NULL) overriding
 * ARG defaults. Returns the steps (new reference; the first is "from") or NULL with e
 * saying what is wrong and on which line. */
json_t *dockerfile_parse(const char *text, size_t len, const json_t *build_args, struct err *e);

#endif
