#include "base_rootfs.h"

#include <errno.h>
#include <stdio.h>
#include <sys/stat.h>

#define BASE_PACKAGES "ca-certificates,python3,git,curl,procps,iproute2"
#define MIRROR        "http://deb.debian.org/debian"

/* The build script: one build at a time across daemons (flock), into a temporary
 * directory renamed into place, then a `ready` marker. */
static const char build_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "exec 9>base.lock\n"
    "echo \"waiting for the build lock\"\n"
    "flock 9\n"
    "[ -e base/ready ] && exit 0\n"
    "rm -rf base.tmp base\n"
    "echo \"debootstrap bookworm (minbase + " BASE_PACKAGES ")\"\n"
    "debootstrap --variant=minbase --include=" BASE_PACKAGES " bookworm base.tmp " MIRROR " 2>&1\n"
    "rm -rf base.tmp/var/cache/apt/archives/*.deb base.tmp/var/lib/apt/lists/*\n"
    "mkdir -p base\n"
    "mv base.tmp base/rootfs\n"
    "touch base/ready\n"
    "echo done\n";

/* The stages, recognised by debootstrap's "I: ..." lines in the order it prints them. */
static const struct prep_stage base_lines[] = {
    {"I: Retrieving InRelease", 1, 0, 0},
    {"I: Retrieving Release", 1, 0, 0},
    {"I: Retrieving Packages", 1, 0, 0},
    {"I: Resolving dependencies", 2, 0, 0},
    {"I: Retrieving ", 3, 1, 1},
    {"I: Extracting ", 4, 1, 0},
    {"I: Installing core packages", 5, 0, 0},
    {"I: Unpacking required packages", 6, 0, 0},
    {"I: Configuring required packages", 7, 0, 0},
    {"I: Unpacking the base system", 8, 0, 0},
    {"I: Configuring the base system", 9, 0, 0},
    {"I: Base system installed successfully", 10, 0, 0},
    {"I: Unpacking ", 0, 1, 0},
    {"I: Configuring ", 0, 1, 0},
};

static const char *const base_stages[] = {
    "starting",
    "fetching the package index",
    "resolving dependencies",
    "downloading packages",
    "extracting packages",
    "installing core packages",
    "unpacking required packages",
    "configuring required packages",
    "unpacking the base system",
    "configuring the base system",
    "finishing",
};

static const struct prep_desc base_desc = {
    .name = "base_template",
    .label = "building the base template",
    .lines = base_lines,
    .nlines = sizeof(base_lines) / sizeof(base_lines[0]),
    .stage_names = base_stages,
    .steps = sizeof(base_stages) / sizeof(base_stages[0]) - 1,
    .limit_s = TPL_BUILD_LIMIT_S,
};

int base_rootfs_init(struct templates *t, struct loop *loop, struct children *children,
                     const char *cache_dir, struct err *e)
{
        snprintf(t->dir, sizeof(t->dir), "%s/templates", cache_dir);
        snprintf(t->base_rootfs, sizeof(t->base_rootfs), "%s/base/rootfs", t->dir);
        if (mkdir(cache_dir, 0755) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", cache_dir);
        if (mkdir(t->dir, 0755) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", t->dir);
        struct stat st;
        char marker[PATH_MAX + 64];
        snprintf(marker, sizeof(marker), "%s/base/ready", t->dir);
        const char *argv[] = {"/bin/sh", "-c", build_script, "nullspace-build-base", t->dir, NULL};
        if (prep_init(&t->base, &base_desc, loop, children, argv, stat(marker, &st) == 0) < 0)
                return err_set(e, ENOMEM, "base template");
        return 0;
}

void base_rootfs_fini(struct templates *t)
{
        prep_fini(&t->base);
}
