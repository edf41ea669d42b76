/* Users of the machine, read from its /etc/passwd. */
#ifndef NS_AGENT_USERS_H
#define NS_AGENT_USERS_H

#include <sys/types.h>

struct user_info {
        uid_t uid;
        gid_t gid;
        char name[64];
        char home[256];
        char shell[256];
};

/* Finds a user by name (or numeric uid). Returns 0, or -1 when unknown. */
int user_lookup(const char *name, struct user_info *out);

#endif
