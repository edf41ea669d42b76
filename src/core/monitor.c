/* Periodic usage samples into a ring per machine (monitor.h). */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/util.h"
#include "core.h"
#include "build_internal.h"
#include "machine_internal.h"
#include "monitor.h"

struct usage_ring {
        struct usage_point p[USAGE_RING_N];
        unsigned head, n;   /* next slot; points held */
        unsigned ticks;     /* samples taken (the disk is counted every USAGE_DISK_EVERY) */
        int64_t disk_bytes; /* the last count (-1: none yet) */
        struct machine_sampling *counting;
};

/* The number in a small /sys file, or -1. */
static int64_t read_number(const char *path)
{
        char buf[32];
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        ssize_t n = fd < 0 ? -1 : read(fd, buf, sizeof(buf) - 1);
        if (fd >= 0)
                close(fd);
        if (n <= 0)
                return -1;
        buf[n] = '\0';
        return strtoll(buf, NULL, 10);
}

/* Bytes through the host end of m's veth pair: what the host receives the machine sent. */
static void net_bytes(const struct machine *m, int64_t *rx, int64_t *tx)
{
        *rx = *tx = -1;
        json_t *slot = m->conf.network ? json_object_get(m->conf.network, "slot") : NULL;
        if (!json_is_integer(slot))
                return;
        char path[96];
        const char *names[2] = {"tx_bytes", "rx_bytes"}; /* the machine's rx is the host's tx */
        int64_t *out[2] = {rx, tx};
        for (int i = 0; i < 2; i++) {
                snprintf(path, sizeof(path), "/sys/class/net/nsh%lld/statistics/%s",
                         (long long)json_integer_value(slot), names[i]);
                *out[i] = read_number(path);
        }
}

void usage_now(struct machine *m, struct usage_point *out)
{
        struct machine_usage u;
        m->rt.drv->usage(&m->core->driver_ctx, m->id, m->dir, &u);
        *out = (struct usage_point){.ts = time_wall_ms(),
                                    .cpu_ns = u.cpu_ns,
                                    .mem_bytes = u.mem_bytes,
                                    .mem_limit = u.mem_limit,
                                    .disk_bytes = m->usage ? m->usage->disk_bytes : -1};
        net_bytes(m, &out->net_rx_bytes, &out->net_tx_bytes);
}

static void on_counted(void *ud, const struct machine_sample *s)
{
        struct machine *m = ud;
        m->usage->counting = NULL;
        if (s->disk_bytes >= 0)
                m->usage->disk_bytes = s->disk_bytes;
}

static void sample(struct machine *m)
{
        struct usage_ring *r = m->usage;
        if (!r) {
                if (!(r = m->usage = calloc(1, sizeof(*r))))
                        return;
                r->disk_bytes = -1;
        }
        if (r->ticks++ % USAGE_DISK_EVERY == 0 && !r->counting)
                r->counting = machine_sample(m, on_counted, m, NULL);
        usage_now(m, &r->p[r->head]);
        r->head = (r->head + 1) % USAGE_RING_N;
        if (r->n < USAGE_RING_N)
                r->n++;
}

static void on_tick(struct loop_timer *t)
{
        struct core *core = (struct core *)((char *)t - offsetof(struct core, usage_timer));
        for (struct machine *m = core->machines; m; m = m->next)
                if ((m->state == M_RUNNING || m->state == M_PAUSED) && m->rt.drv->usage)
                        sample(m);
        loop_timer_arm(&core->loop, &core->usage_timer, usage_interval_ms(core), on_tick);
}

unsigned usage_interval_ms(const struct core *core)
{
        return core->usage_interval_ms ? core->usage_interval_ms : USAGE_INTERVAL_MS;
}

void monitor_start(struct core *core)
{
        loop_timer_arm(&core->loop, &core->usage_timer, usage_interval_ms(core), on_tick);
}

void monitor_stop(struct core *core)
{
        loop_timer_cancel(&core->loop, &core->usage_timer);
}

size_t usage_series(const struct machine *m, int64_t since_ms, struct usage_point *out, size_t cap)
{
        const struct usage_ring *r = m->usage;
        size_t k = 0;
        for (unsigned i = 0; r && i < r->n && k < cap; i++) {
                const struct usage_point *p =
                    &r->p[(r->head + USAGE_RING_N - r->n + i) % USAGE_RING_N];
                if (p->ts > since_ms)
                        out[k++] = *p;
        }
        return k;
}

/* Bytes of the regular files in a flat image directory (0 when none yet). */
static int64_t image_bytes(const char *dir)
{
        DIR *d = opendir(dir);
        int64_t total = 0;
        struct dirent *de;
        struct stat st;
        while (d && (de = readdir(d)))
                if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
                    S_ISREG(st.st_mode))
                        total += st.st_size;
        if (d)
                closedir(d);
        return total;
}

void monitor_progress(struct core *core, void (*fn)(void *ud, const struct op_progress *p),
                      void *ud)
{
        uint64_t now = time_mono_ns();
        for (struct machine *m = core->machines; m; m = m->next) {
                const char *op = m->state == M_HIBERNATING    ? "hibernate"
                                 : m->state == M_FORKING      ? "fork"
                                 : m->state == M_SNAPSHOTTING ? "snapshot"
                                                              : NULL;
                if (!op)
                        continue;
                char own[PATH_MAX + 80];
                layers_own_image(m->dir, own, sizeof(own));
                const char *image = m->op.capture ? capture__image(m->op.capture) : own;
                struct op_progress p = {"machine",
                                        m->id,
                                        op,
                                        NULL,
                                        image_bytes(image),
                                        -1,
                                        -1,
                                        (int64_t)((now - m->op.op_started_ns) / 1000000)};
                fn(ud, &p);
        }
        for (struct build *b = core->builds; b; b = b->next) {
                json_t *steps = json_object_get(b->req, "steps");
                struct op_progress p = {"build",
                                        b->id,
                                        "build",
                                        b->ref,
                                        -1,
                                        (int64_t)b->step_no,
                                        (int64_t)json_array_size(steps),
                                        -1};
                fn(ud, &p);
        }
}

void usage_ring_free(struct machine *m)
{
        if (!m->usage)
                return;
        if (m->usage->counting)
                machine_sample_forget(m->usage->counting);
        free(m->usage);
        m->usage = NULL;
}
