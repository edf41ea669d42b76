/* Checkpoint image directories shared by the drivers (ckpt_files.h). */
#include "ckpt_files.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "driver.h"

/* Makes `dst` (emptied first) hold hard links to the files of image `src`. */
static int link_image(const char *src, const char *dst)
{
        if (strcmp(src, dst) == 0)
                return 0;
        remove_flat_dir(dst);
        if (mkdir(dst, 0700) < 0)
                return -1;
        DIR *d = opendir(src);
        int to = open(dst, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        int r = d && to >= 0 ? 0 : -1;
        for (struct dirent *de; r == 0 && (de = readdir(d));)
                if (de->d_name[0] != '.' && strcmp(de->d_name, DRIVER_IMAGE_DONE) != 0)
                        r = linkat(dirfd(d), de->d_name, to, de->d_name, 0);
        if (d)
                closedir(d);
        if (to >= 0)
                close(to);
        return r;
}

static int mark_complete(const char *image)
{
        char done[PATH_MAX + 64];
        snprintf(done, sizeof(done), "%s/" DRIVER_IMAGE_DONE, image);
        int fd = open(done, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd < 0 || fsync(fd) < 0)
                return -1;
        return close(fd);
}

int ckpt_image_publish(const char *image, const char *own)
{
        /* the machine's own checkpoint first: a restarted daemon resumes it from there */
        if (link_image(image, own) < 0 || mark_complete(own) < 0)
                return -1;
        return strcmp(image, own) != 0 ? mark_complete(image) : 0;
}

int ckpt_restore_prepare(const char *image, const char *dir, struct err *e)
{
        char done[PATH_MAX + 64];
        snprintf(done, sizeof(done), "%s/" DRIVER_IMAGE_DONE, image);
        if (access(done, R_OK) < 0)
                return err_set(e, ENOENT, "no complete checkpoint in %s", image);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", dir);
        return 0;
}
