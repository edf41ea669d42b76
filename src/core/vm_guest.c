#include "vm_guest.h"

#include <errno.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../common/util.h"

static const struct prep_stage guest_lines[] = {
    {"== downloading the guest kernel", 1, 0, 0},
    {"== guest kernel: ", 2, 1, 0},
    {"== packing the initramfs", 3, 0, 0},
    {"== guest assets in", 4, 0, 0},
};

static const char *const guest_stages[] = {
    "starting",
    "downloading the guest kernel",
    "unpacking the kernel's modules",
    "packing the initramfs",
    "finishing",
};

static const struct prep_desc guest_desc = {
    .name = "vm_guest",
    .label = "preparing the VM guest kernel",
    .lines = guest_lines,
    .nlines = sizeof(guest_lines) / sizeof(guest_lines[0]),
    .stage_names = guest_stages,
    .steps = sizeof(guest_stages) / sizeof(guest_stages[0]) - 1,
    .limit_s = VM_GUEST_LIMIT_S,
};

/* Adds a file's contents to the digest; -1 when it cannot be read. */
static int digest_file(EVP_MD_CTX *ctx, const char *path)
{
        FILE *f = fopen(path, "rbe");
        if (!f)
                return -1;
        char chunk[8192];
        size_t n;
        while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
                EVP_DigestUpdate(ctx, chunk, n);
        int bad = ferror(f);
        fclose(f);
        return bad ? -1 : 0;
}

/* Whether CACHE/vm was made by these scripts (its stamp). */
static int assets_current(const char *script_dir, const char *vm_dir)
{
        char a[PATH_MAX + 32], b[PATH_MAX + 32], stamp[PATH_MAX + 32];
        snprintf(a, sizeof(a), "%s/vm-assets.sh", script_dir);
        snprintf(b, sizeof(b), "%s/vm-init.sh", script_dir);
        unsigned char md[EVP_MAX_MD_SIZE];
        unsigned mdlen = 0;
        EVP_MD_CTX *ctx = EVP_MD_CTX_new();
        int ok = ctx && EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) == 1 &&
                 digest_file(ctx, a) == 0 && digest_file(ctx, b) == 0 &&
                 EVP_DigestFinal_ex(ctx, md, &mdlen) == 1;
        EVP_MD_CTX_free(ctx);
        if (!ok)
                return 0;
        char want[2 * EVP_MAX_MD_SIZE + 1], have[2 * EVP_MAX_MD_SIZE + 2];
        hex_encode(md, mdlen, want);
        snprintf(stamp, sizeof(stamp), "%s/assets.sha256", vm_dir);
        if (read_small(stamp, have, sizeof(have)) < 0)
                return 0;
        have[strcspn(have, "\n")] = '\0';
        return strcmp(want, have) == 0;
}

static int assets_exist(const char *vm_dir)
{
        char a[PATH_MAX + 32], b[PATH_MAX + 32];
        snprintf(a, sizeof(a), "%s/vmlinuz", vm_dir);
        snprintf(b, sizeof(b), "%s/initrd.cpio", vm_dir);
        return access(a, R_OK) == 0 && access(b, R_OK) == 0;
}

int vm_guest_init(struct prep *p, struct loop *loop, struct children *children,
                  const char *script_dir, const char *cache_dir, struct err *e)
{
        char script[PATH_MAX + 32], vm_dir[PATH_MAX + 8];
        snprintf(script, sizeof(script), "%s/vm-assets.sh", script_dir);
        snprintf(vm_dir, sizeof(vm_dir), "%s/vm", cache_dir);
        const char *run[] = {"/bin/bash", script, cache_dir, NULL};
        const char *absent[] = {"/bin/sh", "-c", "echo \"$0 is missing\"; exit 1", script, NULL};
        /* without the scripts, assets made earlier are taken as they are */
        int have = access(script, R_OK) == 0;
        int ready = assets_exist(vm_dir) && (!have || assets_current(script_dir, vm_dir));
        int r = prep_init(p, &guest_desc, loop, children, have ? run : absent, ready);
        return r < 0 ? err_set(e, -r, "vm guest") : 0;
}
