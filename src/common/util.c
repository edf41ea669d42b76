#include "util.h"

#include <stdio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

int64_t time_wall_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

uint64_t time_mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int rand_bytes(void *buf, size_t n)
{
        unsigned char *p = buf;
        while (n > 0) {
                ssize_t r = getrandom(p, n, 0);
                if (r < 0) {
                        if (errno == EINTR)
                                continue;
                        return -errno;
                }
                p += r;
                n -= (size_t)r;
        }
        return 0;
}

void hex_encode(const unsigned char *in, size_t n, char *out)
{
        static const char digits[] = "0123456789abcdef";
        for (size_t i = 0; i < n; i++) {
                out[2 * i] = digits[in[i] >> 4];
                out[2 * i + 1] = digits[in[i] & 15];
        }
        out[2 * n] = '\0';
}

int rand_id(const char *prefix, size_t nbytes, char *out, size_t cap)
{
        unsigned char raw[64];
        size_t plen = strlen(prefix);
        if (nbytes > sizeof(raw) || plen + 2 * nbytes + 1 > cap)
                return -ENOSPC;
        int r = rand_bytes(raw, nbytes);
        if (r < 0)
                return r;
        memcpy(out, prefix, plen);
        hex_encode(raw, nbytes, out + plen);
        return 0;
}

static size_t b64(const unsigned char *in, size_t n, char *out, const char *alpha, int pad)
{
        size_t o = 0;
        for (size_t i = 0; i < n; i += 3) {
                uint32_t v = (uint32_t)in[i] << 16;
                if (i + 1 < n)
                        v |= (uint32_t)in[i + 1] << 8;
                if (i + 2 < n)
                        v |= in[i + 2];
                out[o++] = alpha[(v >> 18) & 63];
                out[o++] = alpha[(v >> 12) & 63];
                if (i + 1 < n)
                        out[o++] = alpha[(v >> 6) & 63];
                else if (pad)
                        out[o++] = '=';
                if (i + 2 < n)
                        out[o++] = alpha[v & 63];
                else if (pad)
                        out[o++] = '=';
        }
        out[o] = '\0';
        return o;
}

size_t base64url_encode(const unsigned char *in, size_t n, char *out)
{
        return b64(in, n, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                   0);
}

size_t base64_encode(const unsigned char *in, size_t n, char *out)
{
        return b64(in, n, out, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/",
                   1);
}

static int b64_value(char c)
{
        if (c >= 'A' && c <= 'Z')
                return c - 'A';
        if (c >= 'a' && c <= 'z')
                return c - 'a' + 26;
        if (c >= '0' && c <= '9')
                return c - '0' + 52;
        return c == '+' ? 62 : c == '/' ? 63 : -1;
}

ssize_t base64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
        while (n > 0 && in[n - 1] == '=')
                n--;
        if (n % 4 == 1 || n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0) > cap)
                return -1;
        size_t o = 0;
        uint32_t acc = 0;
        for (size_t i = 0; i < n; i++) {
                int v = b64_value(in[i]);
                if (v < 0)
                        return -1;
                acc = acc << 6 | (uint32_t)v;
                if (i % 4 == 3) {
                        out[o++] = (unsigned char)(acc >> 16);
                        out[o++] = (unsigned char)(acc >> 8);
                        out[o++] = (unsigned char)acc;
                        acc = 0;
                }
        }
        if (n % 4 == 2)
                out[o++] = (unsigned char)(acc >> 4);
        if (n % 4 == 3) {
                out[o++] = (unsigned char)(acc >> 10);
                out[o++] = (unsigned char)(acc >> 2);
        }
        return (ssize_t)o;
}

int is_safe_token(const char *s, size_t max)
{
        size_t n = 0;
        for (; s[n]; n++) {
                char c = s[n];
                int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                         (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
                if (!ok || n >= max)
                        return 0;
        }
        return n > 0;
}

char *url_escape(const char *s)
{
        size_t n = strlen(s);
        char *out = malloc(3 * n + 1), *o = out;
        if (!out)
                return NULL;
        for (; *s; s++) {
                unsigned char c = (unsigned char)*s;
                if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '~' || c == '/') {
                        *o++ = (char)c;
                } else {
                        *o++ = '%';
                        *o++ = "0123456789ABCDEF"[c >> 4];
                        *o++ = "0123456789ABCDEF"[c & 15];
                }
        }
        *o = '\0';
        return out;
}

void strv_free(char **v)
{
        for (size_t i = 0; v && v[i]; i++)
                free(v[i]);
        free(v);
}

int mkdir_p(const char *path, unsigned mode)
{
        char buf[4096];
        if (snprintf(buf, sizeof(buf), "%s", path) >= (int)sizeof(buf))
                return -ENAMETOOLONG;
        for (char *p = buf + 1; *p; p++)
                if (*p == '/') {
                        *p = '\0';
                        if (mkdir(buf, 0755) < 0 && errno != EEXIST)
                                return -errno;
                        *p = '/';
                }
        return mkdir(buf, mode) < 0 && errno != EEXIST ? -errno : 0;
}

void remove_flat_dir(const char *dir)
{
        DIR *d = opendir(dir);
        for (struct dirent *de; d && (de = readdir(d));)
                if (de->d_name[0] != '.')
                        unlinkat(dirfd(d), de->d_name, 0);
        if (d)
                closedir(d);
        rmdir(dir);
}

ssize_t read_small(const char *path, char *buf, size_t cap)
{
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        size_t n = cap ? fread(buf, 1, cap - 1, f) : 0;
        fclose(f);
        if (cap)
                buf[n] = '\0';
        return (ssize_t)n;
}

int read_last_line(const char *path, char *out, size_t cap)
{
        char tail[4096];
        if (!cap)
                return -1;
        out[0] = '\0';
        FILE *f = fopen(path, "re");
        if (!f)
                return -1;
        long size = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
        long from = size > (long)sizeof(tail) - 1 ? size - ((long)sizeof(tail) - 1) : 0;
        size_t n =
            size >= 0 && fseek(f, from, SEEK_SET) == 0 ? fread(tail, 1, sizeof(tail) - 1, f) : 0;
        fclose(f);
        while (n > 0 && (tail[n - 1] == '\n' || tail[n - 1] == '\r' || tail[n - 1] == ' '))
                n--;
        size_t start = n;
        while (start > 0 && tail[start - 1] != '\n')
                start--;
        if (start == n)
                return -1;
        size_t len = n - start < cap - 1 ? n - start : cap - 1;
        for (size_t i = 0; i < len; i++) /* a log line may hold anything: keep it printable */
                out[i] = (unsigned char)tail[start + i] < 0x20 ? ' ' : tail[start + i];
        out[len] = '\0';
        return 0;
}

pid_t fork_child(void)
{
        pid_t pid = fork();
        if (pid != 0)
                return pid;
        if (syscall(SYS_close_range, 3u, ~0u, CLOSE_RANGE_CLOEXEC) == 0)
                return 0;
        struct rlimit rl; /* kernels before 5.11: one by one */
        long max = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 1u << 20 ? (long)rl.rlim_cur
                                                                                : 1 << 20;
        for (int fd = 3; fd < max; fd++)
                fcntl(fd, F_SETFD, FD_CLOEXEC);
        return 0;
}
