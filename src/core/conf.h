/* A machine's persisted spec: what it is made of and how it behaves, stored as JSON in
 * its record (store "spec"), in its snapshots and read back after a restart. One table
 * (conf.c) says every field's key, type and default, and both encodes and decodes: a
 * field added there is stored, restored, forked and snapshotted alike. Any thread
 * (touches only what it is given). */
#ifndef NS_CONF_H
#define NS_CONF_H

#include <jansson.h>
#include <stdint.h>

#include "../store/store.h"
#include "base_rootfs.h"

struct machine_conf {
        char template_name[TEMPLATE_REF_MAX + 1]; /* "template" ("base") */
        unsigned vcpus, memory_mb;
        json_t *env;           /* object of strings (owned; never NULL once decoded) */
        char user[65];         /* default user of commands ("" = root) */
        char *cwd;             /* default working directory of commands (owned; "" = home) */
        json_t *layers;        /* read-only layer ids below its own, top first (owned) */
        int auto_resume;       /* commands and files wake the machine when hibernated (1) */
        int timeout_hibernate; /* at the deadline: hibernate (1) or destroy (0) */
        int64_t timeout_s;     /* the deadline's length, re-armed on resume */
        char snapshot_id[MACHINE_ID_MAX]; /* the snapshot it was spawned from ("" if none) */
        json_t *network;  /* slot, address, policy, public ports (owned; NULL: no network) */
        char checkout[8]; /* from a template: "pool" or "fresh" ("" otherwise) */
        char image[72];   /* its bottom layer: an imported image ("": base) */
        char runtime[16]; /* "gvisor" or "vm" */
        json_t *volumes;  /* its mounts, as volume_mounts_check made them (owned; []) */
        json_t *idle;     /* {"pause_after_s","hibernate_after_s"} (owned; NULL: the daemon's) */
        json_t *secrets;  /* names of the secrets its agent was given (owned; []; never values) */
};

/* How many fields the table has (a test checks every one survives a restart). */
extern const size_t machine_conf_nfields;

/* Fills c from a stored spec (NULL or missing fields: their defaults; c's json and
 * strings become c's own). c must be zeroed or finished before. 0, or -ENOMEM. */
int machine_conf_decode(struct machine_conf *c, const json_t *spec);

/* machine_conf_decode of a stored spec's text (NULL: all defaults). */
int machine_conf_parse(struct machine_conf *c, const char *text);

/* The stored form of c (new reference; NULL when out of memory). */
json_t *machine_conf_encode(const struct machine_conf *c);

/* Adds the fields the API shows of c to `out` (the view of a machine: "" as null where
 * the API says so, the network as machine_net_view; env, layers, timeout_s and image
 * are not shown). */
void machine_conf_view(const struct machine_conf *c, json_t *out);

/* Sets c's cwd (a copy; NULL: ""). 0 or -ENOMEM. */
int machine_conf_set_cwd(struct machine_conf *c, const char *cwd);

/* Frees what c owns and zeroes it. */
void machine_conf_fini(struct machine_conf *c);

#endif
