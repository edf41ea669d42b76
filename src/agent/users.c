/* /etc/passwd lookup without NSS (the agent is static). */
#include "users.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int user_lookup(const char *name, struct user_info *out)
{
        FILE *f = fopen("/etc/passwd", "re");
        if (!f)
                return -1;
        char line[1024];
        int found = -1;
        while (fgets(line, sizeof(line), f)) {
                char *fields[7];
                char *p = line;
                int n = 0;
                for (; n < 7 && p; n++) {
                        fields[n] = p;
                        p = strchr(p, ':');
                        if (p)
                                *p++ = '\0';
                }
                if (n < 7)
                        continue;
                fields[6][strcspn(fields[6], "\n")] = '\0';
                int numeric = strspn(name, "0123456789") == strlen(name);
                if (strcmp(fields[0], name) != 0 && !(numeric && strcmp(fields[2], name) == 0))
                        continue;
                out->uid = (uid_t)strtoul(fields[2], NULL, 10);
                out->gid = (gid_t)strtoul(fields[3], NULL, 10);
                snprintf(out->name, sizeof(out->name), "%s", fields[0]);
                snprintf(out->home, sizeof(out->home), "%s", fields[5]);
                snprintf(out->shell, sizeof(out->shell), "%s", fields[6]);
                found = 0;
                break;
        }
        fclose(f);
        return found;
}
