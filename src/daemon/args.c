#include "args.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../common/kvconf.h"

/* Takes ownership of s (freed by daemon_args_free); s NULL: out of memory. */
static int keep(struct daemon_args *a, char *s, struct err *e)
{
        char **owned = s ? realloc(a->owned, sizeof(char *) * (size_t)(a->nowned + 1)) : NULL;
        if (!owned) {
                free(s);
                return err_set(e, ENOMEM, "arguments");
        }
        a->owned = owned;
        a->owned[a->nowned++] = s;
        return 0;
}

/* Appends one argument (borrowed) with where it came from. */
static int push(struct daemon_args *a, char *arg, const char *origin, struct err *e)
{
        char **argv = realloc(a->argv, sizeof(char *) * (size_t)(a->argc + 2));
        if (argv)
                a->argv = argv;
        const char **org = argv ? realloc(a->origin, sizeof(char *) * (size_t)(a->argc + 2)) : NULL;
        if (!org)
                return err_set(e, ENOMEM, "arguments");
        a->origin = org;
        a->argv[a->argc] = arg;
        a->origin[a->argc] = origin;
        a->argc++;
        a->argv[a->argc] = NULL;
        return 0;
}

/* "--name" or "--name=value" (malloc'd; NULL when out of memory). */
static char *option_arg(const char *name, const char *value)
{
        size_t n = strlen(name) + (value ? strlen(value) + 1 : 0) + 3;
        char *s = malloc(n);
        if (s)
                snprintf(s, n, "--%s%s%s", name, value ? "=" : "", value ? value : "");
        return s;
}

/* One setting as an argument: "--name=value", or "--name" for a switch set true. */
static int push_setting(struct daemon_args *a, const struct option *opt, const char *value,
                        const char *origin, struct err *e)
{
        if (opt->has_arg == no_argument) {
                if (!strcmp(value, "false") || !strcmp(value, "no") || !strcmp(value, "0"))
                        return 0;
                if (strcmp(value, "true") && strcmp(value, "yes") && strcmp(value, "1"))
                        return err_say(e, EINVAL, "%s: %s is a switch: true or false", origin,
                                       opt->name);
                char *arg = option_arg(opt->name, NULL);
                return keep(a, arg, e) < 0 ? -ENOMEM : push(a, arg, origin, e);
        }
        char *arg = option_arg(opt->name, value);
        return keep(a, arg, e) < 0 ? -ENOMEM : push(a, arg, origin, e);
}

struct file_ctx {
        struct daemon_args *a;
        const struct option *settings;
        int nsettings;
        const char *path;
};

static int on_pair(void *ud, const char *key, const char *value, int line, struct err *e)
{
        struct file_ctx *f = ud;
        for (int i = 0; i < f->nsettings; i++) {
                if (strcmp(f->settings[i].name, key) != 0)
                        continue;
                char where[600];
                snprintf(where, sizeof(where), "%s:%d", f->path, line);
                char *origin = strdup(where);
                if (keep(f->a, origin, e) < 0)
                        return -ENOMEM;
                return push_setting(f->a, &f->settings[i], value, origin, e);
        }
        return err_say(e, EINVAL,
                       "%s:%d: unknown setting '%s' (the options of nullspaced --help, "
                       "without the leading --)",
                       f->path, line, key);
}

/* NULLSPACE_LOG_LEVEL for log-level. */
static void env_name(const char *opt, char *out, size_t cap)
{
        size_t n = (size_t)snprintf(out, cap, "NULLSPACE_");
        for (; *opt && n + 1 < cap; opt++)
                out[n++] = *opt == '-' ? '_' : (char)toupper((unsigned char)*opt);
        out[n] = '\0';
}

/* The --config FILE the command line names, else the default when it exists. */
static const char *config_path(int argc, char **argv, int *named)
{
        *named = 1;
        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--"))
                        break;
                if (!strcmp(argv[i], "--config") && i + 1 < argc)
                        return argv[i + 1];
                if (!strncmp(argv[i], "--config=", 9))
                        return argv[i] + 9;
        }
        *named = 0;
        return access(NS_CONFIG_PATH, F_OK) == 0 ? NS_CONFIG_PATH : NULL;
}

int daemon_args(int argc, char **argv, const struct option *settings, int nsettings,
                struct daemon_args *out, struct err *e)
{
        memset(out, 0, sizeof(*out));
        int r = push(out, argv[0], NULL, e);
        int named;
        const char *path = config_path(argc, argv, &named);
        if (r == 0 && path) {
                struct file_ctx f = {out, settings, nsettings, path};
                r = kvconf_read(path, on_pair, &f, e);
        }
        for (int i = 0; r == 0 && i < nsettings; i++) {
                char name[96];
                env_name(settings[i].name, name, sizeof(name));
                const char *v = getenv(name);
                if (v && *v) {
                        char origin_text[110];
                        snprintf(origin_text, sizeof(origin_text), "env %s", name);
                        char *origin = strdup(origin_text);
                        r = keep(out, origin, e);
                        if (r == 0)
                                r = push_setting(out, &settings[i], v, origin, e);
                }
        }
        for (int i = 1; r == 0 && i < argc; i++)
                r = push(out, argv[i], NULL, e);
        if (r < 0)
                daemon_args_free(out);
        return r;
}

void daemon_args_free(struct daemon_args *a)
{
        for (int i = 0; i < a->nowned; i++)
                free(a->owned[i]);
        free(a->owned);
        free(a->argv);
        free(a->origin);
        memset(a, 0, sizeof(*a));
}
