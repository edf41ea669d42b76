#include "children.h"

#include <sys/wait.h>

void children_watch(struct children *c, struct child_watch *w)
{
        w->next = c->list;
        c->list = w;
}

void children_forget(struct children *c, struct child_watch *w)
{
        for (struct child_watch **pp = &c->list; *pp; pp = &(*pp)->next) {
                if (*pp == w) {
                        *pp = w->next;
                        return;
                }
        }
}

void children_reap(struct children *c)
{
        int status;
        pid_t pid;
        while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
                for (struct child_watch *w = c->list; w; w = w->next) {
                        if (w->pid == pid) {
                                children_forget(c, w);
                                w->on_exit(w, status);
                                break;
                        }
                }
        }
}
