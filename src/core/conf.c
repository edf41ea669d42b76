/* The one table of a machine spec's fields (conf.h). */
#include "conf.h"
#include "machine.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum conf_type {
        CT_STR,     /* char[cap] */
        CT_HSTR,    /* char * (owned) */
        CT_UINT,    /* unsigned */
        CT_I64,     /* int64_t */
        CT_BOOL,    /* int, stored as true/false */
        CT_ACTION,  /* int timeout_hibernate, stored as "hibernate" / "destroy" */
        CT_OBJECT,  /* json_t * object (owned; {} when missing) */
        CT_ARRAY,   /* json_t * array (owned; [] when missing) */
        CT_OBJ_OPT, /* json_t * object (owned; NULL when missing, then not stored) */
};

#define OMIT_EMPTY 1u /* not stored when "" (older records lack it) */
#define VIEW_NULL  2u /* the API shows "" as null */
#define VIEW_NET   4u /* the API shows machine_net_view of it */

struct conf_field {
        const char *key;
        enum conf_type type;
        size_t off, cap;
        const char *def; /* CT_STR / CT_HSTR: when missing; CT_BOOL: "1" for true */
        unsigned flags;
        const char *view; /* its name in the API's view of a machine (NULL: not shown) */
};

#define AT(f) offsetof(struct machine_conf, f), sizeof(((struct machine_conf *)0)->f)

/* env (it may hold secrets), layers, timeout_s and image are stored, not shown */
static const struct conf_field fields[] = {
    {"template", CT_STR, AT(template_name), "base", 0, "template"},
    {"vcpus", CT_UINT, AT(vcpus), NULL, 0, "vcpus"},
    {"memory_mb", CT_UINT, AT(memory_mb), NULL, 0, "memory_mb"},
    {"env", CT_OBJECT, AT(env), NULL, 0, NULL},
    {"user", CT_STR, AT(user), "", VIEW_NULL, "user"},
    {"cwd", CT_HSTR, AT(cwd), "", VIEW_NULL, "cwd"},
    {"layers", CT_ARRAY, AT(layers), NULL, 0, NULL},
    {"auto_resume", CT_BOOL, AT(auto_resume), "1", 0, "auto_resume"},
    {"timeout_action", CT_ACTION, AT(timeout_hibernate), NULL, 0, "timeout_action"},
    {"timeout_s", CT_I64, AT(timeout_s), NULL, 0, NULL},
    {"snapshot", CT_STR, AT(snapshot_id), "", OMIT_EMPTY | VIEW_NULL, "snapshot_id"},
    {"network", CT_OBJ_OPT, AT(network), NULL, VIEW_NET, "network"},
    {"checkout", CT_STR, AT(checkout), "", OMIT_EMPTY | VIEW_NULL, "checkout"},
    {"image", CT_STR, AT(image), "", OMIT_EMPTY, NULL},
    /* records from before runtimes: gVisor */
    {"runtime", CT_STR, AT(runtime), "gvisor", 0, "runtime"},
    {"volumes", CT_ARRAY, AT(volumes), NULL, 0, "volumes"},
    {"idle", CT_OBJ_OPT, AT(idle), NULL, 0, "idle"},
    {"secrets", CT_ARRAY, AT(secrets), NULL, 0, "secrets"},
};

#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

const size_t machine_conf_nfields = NFIELDS;

static json_t *copy_or(const json_t *v, int is_object, int optional)
{
        if (is_object ? json_is_object(v) : json_is_array(v))
                return json_deep_copy(v);
        return optional ? NULL : is_object ? json_object() : json_array();
}

static int decode_one(struct machine_conf *c, const struct conf_field *f, const json_t *v)
{
        void *at = (char *)c + f->off;
        const char *s = json_string_value(v);
        switch (f->type) {
        case CT_STR:
                snprintf(at, f->cap, "%s", s ? s : f->def);
                return 0;
        case CT_HSTR:
                return (*(char **)at = strdup(s ? s : f->def)) ? 0 : -ENOMEM;
        case CT_UINT:
                *(unsigned *)at = (unsigned)json_integer_value(v);
                return 0;
        case CT_I64:
                *(int64_t *)at = json_integer_value(v);
                return 0;
        case CT_BOOL:
                *(int *)at = v ? json_is_true(v) : f->def && f->def[0] == '1';
                return 0;
        case CT_ACTION:
                *(int *)at = s && strcmp(s, "hibernate") == 0;
                return 0;
        case CT_OBJECT:
        case CT_ARRAY:
                *(json_t **)at = copy_or(v, f->type == CT_OBJECT, 0);
                return *(json_t **)at ? 0 : -ENOMEM;
        case CT_OBJ_OPT:
                *(json_t **)at = copy_or(v, 1, 1);
                return 0;
        }
        return 0;
}

int machine_conf_decode(struct machine_conf *c, const json_t *spec)
{
        memset(c, 0, sizeof(*c));
        for (size_t i = 0; i < NFIELDS; i++)
                if (decode_one(c, &fields[i], json_object_get(spec, fields[i].key)) < 0) {
                        machine_conf_fini(c);
                        return -ENOMEM;
                }
        return 0;
}

int machine_conf_parse(struct machine_conf *c, const char *text)
{
        json_t *spec = text ? json_loads(text, 0, NULL) : NULL;
        int r = machine_conf_decode(c, spec);
        json_decref(spec);
        return r;
}

static json_t *encode_one(const struct machine_conf *c, const struct conf_field *f)
{
        const void *at = (const char *)c + f->off;
        switch (f->type) {
        case CT_STR:
                return (f->flags & OMIT_EMPTY) && !*(const char *)at ? NULL : json_string(at);
        case CT_HSTR:
                return json_string(*(char *const *)at ? *(char *const *)at : f->def);
        case CT_UINT:
                return json_integer(*(const unsigned *)at);
        case CT_I64:
                return json_integer(*(const int64_t *)at);
        case CT_BOOL:
                return json_boolean(*(const int *)at);
        case CT_ACTION:
                return json_string(*(const int *)at ? "hibernate" : "destroy");
        case CT_OBJECT:
        case CT_ARRAY:
        case CT_OBJ_OPT: {
                json_t *v = *(json_t *const *)at;
                return v                       ? json_deep_copy(v)
                       : f->type == CT_OBJ_OPT ? NULL
                       : f->type == CT_OBJECT  ? json_object()
                                               : json_array();
        }
        }
        return NULL;
}

json_t *machine_conf_encode(const struct machine_conf *c)
{
        json_t *spec = json_object();
        for (size_t i = 0; spec && i < NFIELDS; i++) {
                json_t *v = encode_one(c, &fields[i]);
                if (v)
                        json_object_set_new(spec, fields[i].key, v);
        }
        return spec;
}

void machine_conf_view(const struct machine_conf *c, json_t *out)
{
        for (size_t i = 0; i < NFIELDS; i++) {
                const struct conf_field *f = &fields[i];
                const void *at = (const char *)c + f->off;
                const char *s = f->type == CT_STR    ? (const char *)at
                                : f->type == CT_HSTR ? *(char *const *)at
                                                     : NULL;
                json_t *v = !f->view                               ? NULL
                            : (f->flags & VIEW_NULL) && !(s && *s) ? json_null()
                            : (f->flags & VIEW_NET) ? machine_net_view(*(json_t *const *)at)
                                                    : encode_one(c, f);
                if (v)
                        json_object_set_new(out, f->view, v);
        }
}

int machine_conf_set_cwd(struct machine_conf *c, const char *cwd)
{
        char *copy = strdup(cwd ? cwd : "");
        if (!copy)
                return -ENOMEM;
        free(c->cwd);
        c->cwd = copy;
        return 0;
}

void machine_conf_fini(struct machine_conf *c)
{
        json_decref(c->env);
        json_decref(c->layers);
        json_decref(c->network);
        json_decref(c->volumes);
        json_decref(c->idle);
        json_decref(c->secrets);
        free(c->cwd);
        memset(c, 0, sizeof(*c));
}
