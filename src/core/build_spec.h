/* What a template build is made of, checked and turned into commands: template names,
 * builder steps (the API's form, and what dockerfile.c produces), the shell command
 * each step runs in the build machine, and the cache key chain. Pure functions:
 * thread-safe, no I/O; they take untrusted input (the API's, fuzzed through
 * tests/fuzz/fuzz_dockerfile.c with the Dockerfile's steps).
 *
 * Steps (JSON objects, "op" first):
 *   run {cmd | argv, args?}      a command (args: ARG values in its environment)
 *   apt {packages}               apt-get install (lists removed afterwards)
 *   pip {packages}               pip install (python3-pip installed when missing)
 *   npm {packages}               npm install -g (nodejs and npm installed when missing)
 *   copy {src, dest, chown?}     files from the build context
 *   env {vars} · workdir {path} · user {user} · expose {ports} · start {cmd | argv}
 * A Dockerfile's "from" step is taken apart by the caller (the base). */
#ifndef NS_BUILD_SPEC_H
#define NS_BUILD_SPEC_H

#include <jansson.h>
#include <stddef.h>

#include "../common/err.h"
#include "../store/store.h"

#define BUILD_MAX_STEPS   500
#define BUILD_MAX_PACKAGE 214 /* npm's limit for one name */

/* Writes the canonical "name:tag" of a template reference ("name" means "name:latest")
 * into out (TEMPLATE_REF_MAX + 1 bytes). Names: [a-z0-9][a-z0-9._-]{0,63}; tags:
 * [A-Za-z0-9_][A-Za-z0-9._-]{0,31}. 0, or -EINVAL with e saying why. */
int template_ref_norm(const char *in, char *out, struct err *e);

/* Checks one step: NULL when the builder takes it, else what is wrong (static text). */
const char *build_step_check(const json_t *step);

/* Checks steps (an array, borrowed) in the form above. 0, or -EINVAL with e naming the
 * step (1-based) and what is wrong. */
int build_steps_check(const json_t *steps, struct err *e);

/* True for steps that change files (run, apt, pip, npm, copy): each gets a cached layer. */
int build_step_is_layer(const json_t *step);

/* The shell script (malloc'd) that performs a layer step in the build machine; copy
 * reads the context as a tar on its stdin. NULL on allocation failure. */
char *build_step_script(const json_t *step);

/* A short text of the step for logs ("RUN apt-get ...", "COPY a b /app/"), at most
 * cap bytes. */
void build_step_title(const json_t *step, char *out, size_t cap);

/* The cache key (64 hex + NUL) of a layer step: SHA-256 over the previous key, the step
 * (without its line number), the environment, user and workdir it runs with, and the
 * context's id for copy steps. */
void build_key_next(const char *prev, const json_t *step, const json_t *env, const char *user,
                    const char *cwd, const char *context_id, char out[65]);

/* The first key of a chain: the base ("base" plus its build stamp, or a template's
 * build id). */
void build_key_base(const char *base, char out[65]);

#endif
