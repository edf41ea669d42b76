#include "loop.h"

#include <errno.h>
#include <time.h>
#include <unistd.h>

static uint64_t mono_ms(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int loop_init(struct loop *l, struct err *e)
{
        l->epfd = epoll_create1(EPOLL_CLOEXEC);
        if (l->epfd < 0)
                return err_set(e, errno, "epoll_create1");
        l->stop = 0;
        l->timers = NULL;
        l->now_ms = mono_ms();
        return 0;
}

void loop_fini(struct loop *l)
{
        if (l->epfd >= 0)
                close(l->epfd);
        l->epfd = -1;
}

int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events, struct err *e)
{
        struct epoll_event ev = {.events = events, .data.ptr = io};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, io->fd, &ev) < 0)
                return err_set(e, errno, "epoll_ctl add fd %d", io->fd);
        io->events = events;
        return 0;
}

int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events)
{
        if (io->events == events)
                return 0;
        struct epoll_event ev = {.events = events, .data.ptr = io};
        if (epoll_ctl(l->epfd, EPOLL_CTL_MOD, io->fd, &ev) < 0)
                return -errno;
        io->events = events;
        return 0;
}

void loop_io_del(struct loop *l, struct loop_io *io)
{
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, io->fd, NULL);
        for (int i = l->batch_i + 1; l->batch && i < l->batch_n; i++)
                if (l->batch[i].data.ptr == io)
                        l->batch[i].data.ptr = NULL;
}

void loop_timer_cancel(struct loop *l, struct loop_timer *t)
{
        if (!t->armed)
                return;
        for (struct loop_timer **pp = &l->timers; *pp; pp = &(*pp)->next) {
                if (*pp == t) {
                        *pp = t->next;
                        break;
                }
        }
        t->armed = 0;
        t->next = NULL;
}

void loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t delay_ms, loop_timer_cb cb)
{
        loop_timer_cancel(l, t);
        t->due_ms = mono_ms() + delay_ms;
        t->cb = cb;
        t->armed = 1;
        struct loop_timer **pp = &l->timers;
        while (*pp && (*pp)->due_ms <= t->due_ms)
                pp = &(*pp)->next;
        t->next = *pp;
        *pp = t;
}

static int next_timeout(struct loop *l)
{
        if (!l->timers)
                return -1;
        uint64_t now = mono_ms();
        if (l->timers->due_ms <= now)
                return 0;
        uint64_t d = l->timers->due_ms - now;
        return d > 60000 ? 60000 : (int)d;
}

static void run_timers(struct loop *l)
{
        uint64_t now = mono_ms();
        while (l->timers && l->timers->due_ms <= now) {
                struct loop_timer *t = l->timers;
                l->timers = t->next;
                t->next = NULL;
                t->armed = 0;
                t->cb(t);
        }
}

int loop_run(struct loop *l)
{
        struct epoll_event evs[64];
        while (!l->stop) {
                int n = epoll_wait(l->epfd, evs, 64, next_timeout(l));
                if (n < 0 && errno != EINTR)
                        return -errno;
                l->now_ms = mono_ms();
                l->batch = evs;
                l->batch_n = n;
                for (l->batch_i = 0; l->batch_i < n; l->batch_i++) {
                        struct loop_io *io = evs[l->batch_i].data.ptr;
                        if (io) /* NULL: deleted by an earlier callback of this batch */
                                io->cb(io, evs[l->batch_i].events);
                }
                l->batch = NULL;
                run_timers(l);
        }
        return 0;
}

void loop_stop(struct loop *l)
{
        l->stop = 1;
}
