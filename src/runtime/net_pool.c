/* Network namespaces made ahead of machines (net.h, "pool"): the part of a create that
 * is ours and costs tens of ms (a namespace, a veth pair, addresses, a route) done in
 * the background; a machine's start then renames one (net__pool_adopt). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "net.h"
#include "net_internal.h"
#include "run.h"

void net__ns_delete(const char *netns)
{
        if (!net__ns_exists(netns))
                return;
        const char *del[] = {"ip", "netns", "delete", netns, NULL};
        run_cmd(del, NULL, 1);
}

int net__pool_adopt(const char *pool, const char *netns)
{
        if (!pool || !pool[0] || !net__ns_exists(pool))
                return -1;
        char from[128], to[128];
        snprintf(from, sizeof(from), NET_NS_DIR "/%s", pool);
        snprintf(to, sizeof(to), NET_NS_DIR "/%s", netns);
        int fd = open(to, O_RDONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0);
        if (fd >= 0)
                close(fd);
        if (fd < 0 || mount(from, to, "none", MS_BIND, NULL) < 0) {
                fprintf(stderr, "nullspace: cannot take over %s as %s: %s\n", pool, netns,
                        strerror(errno));
                if (fd >= 0)
                        unlink(to);
                net__ns_delete(pool);
                return -1;
        }
        umount2(from, MNT_DETACH);
        unlink(from);
        return 0;
}

int net_pool_build(const struct net_host *h, const unsigned *slots, unsigned n)
{
        for (unsigned i = 0; i < n; i++) {
                char netns[64], host_if[16], host_ip[16], guest_ip[16];
                net__pool_names(h, slots[i], NULL, 0, netns, sizeof(netns));
                snprintf(host_if, sizeof(host_if), "nsh%u", slots[i]);
                net_addr(h, slots[i], 0, host_ip);
                net_addr(h, slots[i], 1, guest_ip);
                net__ns_delete(netns); /* half made by a builder that died */
                /* the rules of the default policy, which most machines keep */
                struct net_policy open = {.internet = 1};
                struct net_plan plan;
                int r = net_plan_make(h, NULL, slots[i], &open, &plan);
                if (r == 0) {
                        r = net__make_ns(netns, host_if, host_ip, guest_ip, h->mtu);
                        if (r == 0)
                                r = net__nft(plan.nft);
                        net_plan_free(&plan);
                }
                if (r < 0) {
                        for (unsigned j = 0; j <= i; j++) {
                                net__pool_names(h, slots[j], NULL, 0, netns, sizeof(netns));
                                net__ns_delete(netns);
                                net__teardown_rules(h, slots[j]);
                        }
                        return -1;
                }
        }
        return 0;
}

int net_pool_give(const struct net_host *h, unsigned slot, const char *id)
{
        char pool_id[48], text[80];
        net__pool_names(h, slot, pool_id, sizeof(pool_id), NULL, 0);
        snprintf(text, sizeof(text), "%u\n", slot);
        int r = net__claim_write(id, text);
        snprintf(text, sizeof(text), "%u", slot);
        char line[80];
        snprintf(line, sizeof(line), "%s\n", id);
        if (r == 0)
                r = net__claim_write(text, line);
        if (r < 0) {
                char path[128];
                snprintf(path, sizeof(path), NET_CLAIM_DIR "/%s", id);
                unlink(path);
                return r;
        }
        snprintf(text, sizeof(text), NET_CLAIM_DIR "/%s", pool_id);
        unlink(text);
        return 0;
}

void net_pool_release(const struct net_host *h, unsigned slot)
{
        char pool_id[48];
        net__pool_names(h, slot, pool_id, sizeof(pool_id), NULL, 0);
        net_release(slot, pool_id);
}

void net_pool_drop(const struct net_host *h, unsigned slot)
{
        char netns[64];
        net__pool_names(h, slot, NULL, 0, netns, sizeof(netns));
        net__ns_delete(netns);
        net__teardown_rules(h, slot);
        net_pool_release(h, slot);
}

void net__pool_sweep(const char *table)
{
        char prefix[32];
        snprintf(prefix, sizeof(prefix), "np%s-", table + 10);
        DIR *d = opendir(NET_CLAIM_DIR);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (strncmp(de->d_name, prefix, strlen(prefix)) != 0 || strchr(de->d_name, '.'))
                        continue;
                char *end;
                unsigned long slot = strtoul(de->d_name + strlen(prefix), &end, 10);
                if (*end || slot == 0 || slot > 0xffffff)
                        continue;
                char netns[64], path[300], owner[64] = "";
                snprintf(netns, sizeof(netns), "nsp%s-%lu", table + 10, slot);
                net__ns_delete(netns);
                /* the slot stays claimed when it went to a machine meanwhile */
                snprintf(path, sizeof(path), NET_CLAIM_DIR "/%lu", slot);
                FILE *f = fopen(path, "re");
                if (f && fgets(owner, sizeof(owner), f))
                        owner[strcspn(owner, "\n")] = '\0';
                if (f)
                        fclose(f);
                if (strcmp(owner, de->d_name) == 0)
                        unlink(path);
                snprintf(path, sizeof(path), NET_CLAIM_DIR "/%s", de->d_name);
                unlink(path);
        }
        if (d)
                closedir(d);
        /* and namespaces whose claim is gone already (a helper that finished after a
         * clean-up) */
        d = opendir(NET_NS_DIR);
        snprintf(prefix, sizeof(prefix), "nsp%s-", table + 10);
        for (struct dirent *de; d && (de = readdir(d));)
                if (strncmp(de->d_name, prefix, strlen(prefix)) == 0)
                        net__ns_delete(de->d_name);
        if (d)
                closedir(d);
}
