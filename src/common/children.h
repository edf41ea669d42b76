/* Child processes of the daemon (runsc, helpers): SIGCHLD arrives on the signalfd,
 * the registry reaps and calls back. Loop thread only. */
#ifndef NS_CHILDREN_H
#define NS_CHILDREN_H

#include <sys/types.h>

struct child_watch {
        pid_t pid;
        void (*on_exit)(struct child_watch *w, int status); /* waitpid status */
        struct child_watch *next;
};

struct children {
        struct child_watch *list;
};

/* Registers w (borrowed until its on_exit runs or children_forget). */
void children_watch(struct children *c, struct child_watch *w);

/* Unregisters w without waiting for it. */
void children_forget(struct children *c, struct child_watch *w);

/* Reaps every exited child and calls the matching watches (on SIGCHLD). */
void children_reap(struct children *c);

#endif
