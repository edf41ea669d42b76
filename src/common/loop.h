/* The daemon's one event loop: epoll for file descriptors, a short sorted list of
 * timers, nothing else (after redis's ae.c). Single-threaded: every function here
 * must be called from the loop's thread. Callbacks may delete their own io/timer;
 * an object other than the caller's own is freed only from a timer callback, never
 * from an io callback (the current epoll batch may still name it). */
#ifndef NS_LOOP_H
#define NS_LOOP_H

#include <stdint.h>
#include <sys/epoll.h>

#include "../common/err.h"

struct loop_io;
typedef void (*loop_io_cb)(struct loop_io *io, uint32_t events);

struct loop_io {
        int fd;
        uint32_t events;
        loop_io_cb cb;
};

struct loop_timer;
typedef void (*loop_timer_cb)(struct loop_timer *t);

struct loop_timer {
        uint64_t due_ms;
        loop_timer_cb cb;
        struct loop_timer *next;
        int armed;
};

struct loop {
        int epfd;
        int stop;
        uint64_t now_ms;           /* monotonic, refreshed each iteration */
        struct loop_timer *timers; /* sorted by due_ms */
        /* the events being dispatched: loop_io_del blanks those of an io removed (and
         * perhaps freed) by an earlier callback of the same batch */
        struct epoll_event *batch;
        int batch_n, batch_i;
};

/* Creates the epoll instance. Returns 0 or -errno with `e` set. */
int loop_init(struct loop *l, struct err *e);

/* Closes the epoll fd. Registered ios are not closed. */
void loop_fini(struct loop *l);

/* Registers io->fd for `events` (EPOLLIN/EPOLLOUT...), io->cb is called with revents.
 * Returns 0 or -errno with `e` set. The io is borrowed until loop_io_del. */
int loop_io_add(struct loop *l, struct loop_io *io, uint32_t events, struct err *e);

/* Changes the watched events; no-op when unchanged. Returns 0 or -errno. */
int loop_io_mod(struct loop *l, struct loop_io *io, uint32_t events);

/* Unregisters io (its fd stays open). */
void loop_io_del(struct loop *l, struct loop_io *io);

/* Arms (or re-arms) `t` to fire once after delay_ms. The timer is borrowed until it
 * fires or is cancelled. */
void loop_timer_arm(struct loop *l, struct loop_timer *t, uint64_t delay_ms, loop_timer_cb cb);

/* Disarms `t` if armed. */
void loop_timer_cancel(struct loop *l, struct loop_timer *t);

/* Runs until loop_stop(). Returns 0, or -errno when epoll_wait fails. */
int loop_run(struct loop *l);

/* Makes loop_run return after the current iteration. */
void loop_stop(struct loop *l);

#endif
