/* libFuzzer target: container image import (a tar of `docker save` output or an OCI
 * layout; layers with whiteouts). Every input either imports or fails with a message,
 * and nothing is ever written outside the import's own directory (paths with "..",
 * absolute names, symlinks pointing out). */
#include <dirent.h>
#include <ftw.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/core/image.h"

#define WORK "/tmp/ns-fuzz-image"

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
        (void)st;
        (void)flag;
        (void)ftw;
        return remove(path);
}

/* Only the input and the import's directory may exist in WORK. */
static void check_contained(void)
{
        DIR *d = opendir(WORK);
        if (!d)
                __builtin_trap();
        for (struct dirent *de; (de = readdir(d));)
                if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") &&
                    strcmp(de->d_name, "in.tar") && strcmp(de->d_name, "out"))
                        __builtin_trap(); /* something escaped the import */
        closedir(d);
}

/* The scratch directory goes when the fuzzer exits (the suite checks what tests leave). */
static void remove_work(void)
{
        nftw(WORK, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        static int cleanup_registered;
        if (!cleanup_registered++)
                atexit(remove_work);
        mkdir(WORK, 0700);
        FILE *f = fopen(WORK "/in.tar", "wb");
        if (!f || fwrite(data, 1, size, f) != size)
                __builtin_trap();
        fclose(f);
        struct err e = {0};
        if (image_import(WORK "/in.tar", WORK "/out", &e) < 0 && !e.msg[0])
                __builtin_trap();
        json_decref(image_config(WORK "/out"));
        check_contained();
        nftw(WORK "/out", rm_entry, 16, FTW_DEPTH | FTW_PHYS);
        return 0;
}
