/* First-run preparations read their progress from the build's own output lines. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../src/core/base_rootfs.h"
#include "tap.h"

/* Lines as debootstrap prints them, in order, with the interleaved noise it adds. */
static const char *const transcript[] = {
    "waiting for the build lock",
    "I: Retrieving InRelease ",
    "I: Checking Release signature",
    "I: Retrieving Packages ",
    "I: Validating Packages ",
    "I: Resolving dependencies of required packages...",
    "I: Resolving dependencies of base packages...",
    "I: Checking component main on http://deb.debian.org/debian...",
    "I: Retrieving adduser 3.134",
    "I: Validating adduser 3.134",
    "I: Retrieving libc6 2.36-9+deb12u9",
    "I: Extracting base-files...",
    "I: Installing core packages...",
    "I: Unpacking required packages...",
    "I: Unpacking dpkg...",
    "I: Configuring required packages...",
    "I: Configuring libc6:amd64...",
    "I: Retrieving late-line 1", /* a stage that went by does not come back */
    "I: Unpacking the base system...",
    "I: Configuring the base system...",
    "I: Base system installed successfully.",
};

int main(void)
{
        char dir[] = "/tmp/ns-test-prep-XXXXXX";
        ok(mkdtemp(dir) != NULL, "temporary cache dir");
        struct templates t;
        struct err e;
        is_int(base_rootfs_init(&t, NULL, NULL, dir, &e), 0, "base_rootfs_init on an empty cache");
        is_str(prep_state_name(&t.base), "missing", "an empty cache has no base");
        const struct prep_desc *d = t.base.desc;
        struct prep_progress p = {0};
        unsigned seen[32] = {0};
        for (size_t i = 0; i < sizeof(transcript) / sizeof(transcript[0]); i++) {
                prep_track_line(d, &p, transcript[i]);
                seen[i] = p.step;
                if (strcmp(transcript[i], "I: Retrieving libc6 2.36-9+deb12u9") == 0) {
                        is_str(p.stage, "downloading packages", "packages: their stage");
                        is_str(p.detail, "libc6", "... and the package it is on");
                }
                if (strcmp(transcript[i], "I: Configuring libc6:amd64...") == 0)
                        is_str(p.detail, "libc6:amd64", "configuring names its package");
        }
        is_int(seen[0], 0, "before debootstrap speaks: step 0");
        is_int(seen[1], 1, "the index is step 1");
        is_int(seen[5], 2, "resolving is step 2");
        is_int(seen[8], 3, "downloads are step 3");
        is_int(seen[11], 4, "extracting is step 4");
        is_int(seen[17], 7, "a late line of an earlier stage does not move back");
        is_int(p.step, d->steps, "the last line is the last step");
        is_str(p.stage, "finishing", "... named finishing");
        is_int(p.items, 2, "two packages counted (validations are not)");
        for (size_t i = 1; i < sizeof(transcript) / sizeof(transcript[0]); i++)
                ok(seen[i] >= seen[i - 1], "steps never go back (line %zu)", i);
        base_rootfs_fini(&t);
        char cmd[64];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
        ok(system(cmd) == 0, "cleaned up");
        return tap_done();
}
