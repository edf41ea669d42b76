/* Scope-bound cleanup helpers (GNU C `cleanup` attribute), after crun.
 * A variable declared `_cleanup_free_` is free()d when it leaves scope; hand it over
 * with steal_ptr() to keep it. Same for file descriptors with `_cleanup_close_` and
 * JSON values with `_cleanup_json_` (json_decref). */
#ifndef NS_CLEANUP_H
#define NS_CLEANUP_H

#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

static inline void ns_freep(void *p)
{
        free(*(void **)p);
}

static inline void ns_closep(int *fd)
{
        if (*fd >= 0)
                close(*fd);
}

static inline void ns_json_decrefp(json_t **j)
{
        json_decref(*j);
}

#define _cleanup_free_  __attribute__((cleanup(ns_freep)))
#define _cleanup_close_ __attribute__((cleanup(ns_closep)))
#define _cleanup_json_  __attribute__((cleanup(ns_json_decrefp)))

#define steal_ptr(p)                                                                               \
        ({                                                                                         \
                __typeof__(p) steal_tmp_ = (p);                                                    \
                (p) = NULL;                                                                        \
                steal_tmp_;                                                                        \
        })

#define steal_fd(fd)                                                                               \
        ({                                                                                         \
                int steal_fd_tmp_ = (fd);                                                          \
                (fd) = -1;                                                                         \
                steal_fd_tmp_;                                                                     \
        })

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#endif
