/* Container images as bases of templates: a tar of `docker save` output or of an OCI
 * image layout is unpacked, its layers applied in order — whiteouts (.wh.NAME) and
 * opaque directories (.wh..wh..opq) included — into one root filesystem, and its config
 * (Env, Cmd, Entrypoint, WorkingDir, User) kept beside it:
 *   DIR/rootfs, DIR/config.json
 * Paths in the archives never leave the root: `..`, absolute names and symlinks on the
 * way are refused or removed, never followed. Blocking file I/O: run it in a child
 * process. Reads untrusted input (the tars and their JSON). */
#ifndef NS_IMAGE_H
#define NS_IMAGE_H

#include <jansson.h>

#include "../common/err.h"

#define IMAGE_MAX_LAYERS 128

/* Imports the image tar `src` into the directory `dir` (made; must not exist). Returns
 * 0, or -errno with e saying what is wrong. A failure leaves dir half-made (the caller
 * removes it). It changes the working directory while it runs (given back at the end):
 * one import per process at a time; blocking. */
int image_import(const char *src, const char *dir, struct err *e);

/* The image's config ({"Env":[...],"Cmd":[...],...}) that image_import kept in dir, or
 * NULL (new reference). */
json_t *image_config(const char *dir);

#endif
