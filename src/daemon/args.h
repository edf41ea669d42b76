/* nullspaced's settings from three places, highest first: the command line, the
 * environment (NULLSPACE_ + the option's name in upper case with '_' for '-', e.g.
 * NULLSPACE_LISTEN, NULLSPACE_NO_PREPARE), and the config file (--config FILE, else
 * NS_CONFIG_PATH when it exists: `option-name = value` lines, the kvconf grammar; a
 * switch takes true or false). docs/configuration.md. Main thread, before anything
 * starts. */
#ifndef NS_ARGS_H
#define NS_ARGS_H

#include <getopt.h>

#include "../common/err.h"

#ifndef NS_CONFIG_PATH
#define NS_CONFIG_PATH "/etc/nullspace/nullspaced.conf"
#endif

struct daemon_args {
        int argc;
        char **argv;         /* argv[0], the file's, the environment's, the command line's */
        const char **origin; /* per argv entry: "FILE:LINE", "env NAME", or NULL (command line) */
        char **owned;        /* strings made here (freed by daemon_args_free) */
        int nowned;
};

/* Merges the settings into *out, as options getopt_long reads in order (a later one
 * wins). `settings` lists the options a file or the environment may set (the first
 * nsettings of the table; argument-less ones are switches). Returns 0, or -errno with e
 * saying what is wrong and where (an unknown key, a bad switch value, a bad line, an
 * unreadable --config). */
int daemon_args(int argc, char **argv, const struct option *settings, int nsettings,
                struct daemon_args *out, struct err *e);

void daemon_args_free(struct daemon_args *a);

#endif
