/* Host networking of machines (see net.h): slots, addresses, the nftables table and
 * the per-machine namespace set-up, done with Debian's `ip` and `nft`. */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/dns.h"
#include "../common/util.h"
#include "net.h"
#include "net_internal.h"
#include "run.h"

#define MAX_CIDRS 256

static int nft_script(const char *script, int quiet)
{
        const char *argv[] = {"nft", "-f", "-", NULL};
        return run_cmd(argv, script, quiet) == 0 ? 0 : -1;
}

static int have_tool(const char *name)
{
        static const char *const dirs[] = {"/usr/sbin/", "/sbin/", "/usr/bin/", "/bin/"};
        char path[64];
        for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
                snprintf(path, sizeof(path), "%s%s", dirs[i], name);
                if (access(path, X_OK) == 0)
                        return 1;
        }
        return 0;
}

static int parse_cidr(const char *s, uint32_t *addr, unsigned *prefix)
{
        char tmp[32];
        if (!s || strlen(s) >= sizeof(tmp))
                return -1;
        snprintf(tmp, sizeof(tmp), "%s", s);
        char *slash = strchr(tmp, '/');
        *prefix = 32;
        if (slash) {
                *slash++ = '\0';
                char *end;
                long p = strtol(slash, &end, 10);
                if (!*slash || *end || p < 0 || p > 32)
                        return -1;
                *prefix = (unsigned)p;
        }
        struct in_addr a;
        if (inet_pton(AF_INET, tmp, &a) != 1)
                return -1;
        uint32_t mask = *prefix ? 0xffffffffu << (32 - *prefix) : 0;
        *addr = ntohl(a.s_addr) & mask;
        return 0;
}

static void dotted(uint32_t a, char *out)
{
        struct in_addr in = {.s_addr = htonl(a)};
        inet_ntop(AF_INET, &in, out, 16);
}

int net_check_targets(const json_t *list, const char *field, struct err *e)
{
        if (!list || json_is_null(list))
                return 0;
        if (!json_is_array(list) || json_array_size(list) > MAX_CIDRS)
                return err_set(e, 0, "%s must be an array of at most %d entries", field, MAX_CIDRS),
                       -EINVAL;
        size_t i;
        const json_t *v;
        json_array_foreach(list, i, v)
        {
                uint32_t a;
                unsigned p;
                const char *s = json_string_value(v);
                if (parse_cidr(s, &a, &p) < 0 && !dns_valid_pattern(s))
                        return err_set(e, 0,
                                       "%s[%zu] is not an IPv4 address, a CIDR (10.0.0.0/8) or a "
                                       "domain (example.com, *.example.com; lowercase)",
                                       field, i),
                               -EINVAL;
        }
        return 0;
}

/* FNV-1a of the state dir names this daemon's table. */
static void table_name(const char *state_dir, char *out, size_t cap)
{
        uint32_t h = 2166136261u;
        for (const char *p = state_dir; *p; p++)
                h = (h ^ (unsigned char)*p) * 16777619u;
        snprintf(out, cap, "nullspace_%08x", h);
}

static const char BASE_RULES[] =
    "table inet %s {\n"
    " set ifaces { type ifname; }\n"
    " set dnsifaces { type ifname; }\n"
    " chain dnsin { udp dport %u accept; tcp dport %u accept; }\n"
    " chain prerouting { type nat hook prerouting priority dstnat; policy accept;\n"
    "  iifname @dnsifaces meta l4proto { udp, tcp } th dport 53 redirect to :%u\n"
    "  iifname @dnsifaces tcp dport 443 redirect to :%u\n"
    " }\n"
    " set saddrs { type ipv4_addr; }\n"
    " map egress { type ifname : verdict; }\n"
    " map hostin { type ifname : verdict; }\n"
    " chain forward { type filter hook forward priority filter; policy accept;\n"
    "  iifname @ifaces iifname vmap @egress\n"
    "  iifname @ifaces oifname \"nsh*\" drop\n"
    " }\n"
    " chain input { type filter hook input priority filter; policy accept;\n"
    "  iifname @ifaces ct state established,related accept\n"
    "  iifname @dnsifaces jump dnsin\n"
    "  iifname @ifaces iifname vmap @hostin\n"
    "  iifname @ifaces drop\n"
    " }\n"
    " chain postrouting { type nat hook postrouting priority srcnat; policy accept;\n"
    "  ip saddr @saddrs oifname != \"nsh*\" masquerade\n"
    " }\n"
    "}\n";

static int write_file(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd < 0)
                return -1;
        ssize_t n = write(fd, text, strlen(text));
        close(fd);
        return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Tables of daemons whose state directory is gone (killed test daemons, removed
 * installs): their rules would only slow every nft call and every packet down.
 * NET_TABLE_DIR/TABLE names the state dir of each table. */
static void sweep_tables(void)
{
        DIR *d = opendir(NET_TABLE_DIR);
        for (struct dirent *de; d && (de = readdir(d));) {
                if (strncmp(de->d_name, "nullspace_", 10) != 0 || strchr(de->d_name, '.'))
                        continue;
                char path[300], dir[PATH_MAX] = "";
                snprintf(path, sizeof(path), NET_TABLE_DIR "/%s", de->d_name);
                FILE *f = fopen(path, "re");
                if (f && !fgets(dir, sizeof(dir), f))
                        dir[0] = '\0';
                if (f)
                        fclose(f);
                dir[strcspn(dir, "\n")] = '\0';
                if (!dir[0] || access(dir, F_OK) == 0) /* unreadable: not ours to judge */
                        continue;
                const char *del[] = {"nft", "delete", "table", "inet", de->d_name, NULL};
                run_cmd(del, NULL, 1);
                net__pool_sweep(de->d_name);
                unlink(path);
        }
        if (d)
                closedir(d);
}

void net_host_fini(const struct net_host *h)
{
        if (!h->enabled)
                return;
        const char *del[] = {"nft", "delete", "table", "inet", h->table, NULL};
        run_cmd(del, NULL, 1);
        char path[300];
        snprintf(path, sizeof(path), NET_TABLE_DIR "/%s", h->table);
        unlink(path);
}

/* The smallest MTU of the interfaces default routes leave by (/proc/net/route), or 0
 * when there is none or it is not below the usual 1500. */
static unsigned uplink_mtu(void)
{
        FILE *f = fopen("/proc/net/route", "re");
        char line[256], ifname[64], path[128], text[32];
        unsigned dest, mask, best = 0;
        while (f && fgets(line, sizeof(line), f)) {
                if (sscanf(line, "%63s %x %*x %*x %*d %*d %*d %x", ifname, &dest, &mask) != 3 ||
                    dest != 0 || mask != 0)
                        continue;
                snprintf(path, sizeof(path), "/sys/class/net/%s/mtu", ifname);
                unsigned mtu = read_small(path, text, sizeof(text)) > 0 ? (unsigned)atoi(text) : 0;
                if (mtu >= 576 && (!best || mtu < best))
                        best = mtu;
        }
        if (f)
                fclose(f);
        return best && best < 1500 ? best : 0;
}

int net_host_init(struct net_host *h, const char *state_dir, const char *pool, unsigned dns_port,
                  unsigned tls_port, struct err *e)
{
        memset(h, 0, sizeof(*h));
        unsigned prefix;
        if (parse_cidr(pool ? pool : "10.200.0.0/16", &h->base, &prefix) < 0 || prefix > 28 ||
            prefix < 8)
                return err_set(e, EINVAL, "machine network pool %s: want A.B.C.D/P, P 8..28", pool);
        h->slots = 1u << (30 - prefix);
        table_name(state_dir, h->table, sizeof(h->table));
        if (!have_tool("ip") || !have_tool("nft")) {
                snprintf(h->reason, sizeof(h->reason),
                         "ip or nft is missing (Debian packages iproute2, nftables)");
                return 0;
        }
        if (write_file("/proc/sys/net/ipv4/ip_forward", "1\n") < 0) {
                snprintf(h->reason, sizeof(h->reason), "cannot turn on ip forwarding: %s",
                         strerror(errno));
                return 0;
        }
        /* made afresh at every start (the resolver proxy's port changes); the machines
         * a restarted daemon adopts get their rules again (net_apply) */
        const char *del[] = {"nft", "delete", "table", "inet", h->table, NULL};
        run_cmd(del, NULL, 1);
        {
                char script[sizeof(BASE_RULES) + 64];
                snprintf(script, sizeof(script), BASE_RULES, h->table, dns_port, tls_port, dns_port,
                         tls_port);
                if (nft_script(script, 0) < 0) {
                        snprintf(h->reason, sizeof(h->reason),
                                 "nft could not create table %s (nf_tables missing?)", h->table);
                        return 0;
                }
        }
        mkdir("/run/nullspace", 0755);
        mkdir(NET_CLAIM_DIR, 0755);
        mkdir(NET_TABLE_DIR, 0755);
        /* written whole under another name first: a sweeping daemon never reads it half */
        char path[300], tmp[320];
        snprintf(path, sizeof(path), NET_TABLE_DIR "/%s", h->table);
        snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
        FILE *f = fopen(tmp, "we");
        if (f) {
                int ok = fprintf(f, "%s\n", state_dir) > 0;
                if (fclose(f) == 0 && ok)
                        rename(tmp, path);
                else
                        unlink(tmp);
        }
        sweep_tables();
        net__pool_sweep(h->table); /* what a killed predecessor made ahead */
        h->mtu = uplink_mtu();
        h->enabled = 1;
        return 0;
}

void net__pool_names(const struct net_host *h, unsigned slot, char *id, size_t idcap, char *netns,
                     size_t nscap)
{
        const char *hash = h->table + 10; /* "nullspace_" + 8 hex digits */
        if (id)
                snprintf(id, idcap, "np%s-%u", hash, slot);
        if (netns)
                snprintf(netns, nscap, "nsp%s-%u", hash, slot);
}

/* Writes `text` to claim file NAME whole (another name first, then renamed). */
int net__claim_write(const char *name, const char *text)
{
        char path[128], tmp[140];
        snprintf(path, sizeof(path), NET_CLAIM_DIR "/%s", name);
        snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
        int c = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (c < 0)
                return -errno;
        int ok = write(c, text, strlen(text)) == (ssize_t)strlen(text);
        close(c);
        if (!ok || rename(tmp, path) < 0) {
                int r = -errno;
                unlink(tmp);
                return r ? r : -EIO;
        }
        return 0;
}

int net_claim(const struct net_host *h, const char *id, struct err *e)
{
        unsigned char r[2];
        int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
        if (fd < 0 || read(fd, r, 2) != 2)
                r[0] = r[1] = 0;
        if (fd >= 0)
                close(fd);
        /* start at a random slot: claims of machines made at once rarely meet */
        unsigned start = ((unsigned)r[0] << 8 | r[1]) % h->slots;
        for (unsigned i = 0; i < h->slots; i++) {
                unsigned slot = (start + i) % h->slots;
                if (slot == 0)
                        continue;
                char path[128], pool_id[48], num[16];
                snprintf(path, sizeof(path), NET_CLAIM_DIR "/%u", slot);
                int c = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
                if (c < 0 && errno == EEXIST)
                        continue;
                if (c < 0)
                        return err_set(e, errno, "claim %s", path);
                if (!id) { /* a pool namespace's: named after its slot */
                        net__pool_names(h, slot, pool_id, sizeof(pool_id), NULL, 0);
                        id = pool_id;
                }
                dprintf(c, "%s\n", id);
                close(c);
                snprintf(num, sizeof(num), "%u\n", slot);
                net__claim_write(id, num);
                return (int)slot;
        }
        return err_set(e, ENOSPC, "every address of the machine network pool is in use");
}

void net_release(unsigned slot, const char *id)
{
        char path[128];
        if (!slot)
                return;
        snprintf(path, sizeof(path), NET_CLAIM_DIR "/%u", slot);
        unlink(path);
        snprintf(path, sizeof(path), NET_CLAIM_DIR "/%s", id);
        unlink(path);
}

void net_addr(const struct net_host *h, unsigned slot, int guest, char *out)
{
        dotted(h->base + slot * 4 + (guest ? 2 : 1), out);
}

int net_list_has_addr(const json_t *list, uint32_t addr)
{
        size_t i;
        const json_t *v;
        json_array_foreach(list, i, v)
        {
                uint32_t a;
                unsigned p;
                if (parse_cidr(json_string_value(v), &a, &p) == 0 &&
                    (addr & (p ? 0xffffffffu << (32 - p) : 0)) == a)
                        return 1;
        }
        return 0;
}

/* How many CIDRs (not domains) a list has. */
static size_t count_cidrs(const json_t *list)
{
        size_t i, n = 0;
        const json_t *v;
        uint32_t a;
        unsigned p;
        json_array_foreach(list, i, v) n += parse_cidr(json_string_value(v), &a, &p) == 0;
        return n;
}

/* True when a list names a domain. */
static int has_domains(const json_t *list)
{
        size_t i;
        const json_t *v;
        json_array_foreach(list, i, v) if (dns_valid_pattern(json_string_value(v))) return 1;
        return 0;
}

int net_policy_has_domains(const struct net_policy *p)
{
        return has_domains(p->allow_out) || has_domains(p->deny_out);
}

/* "{ a, b }" of a list's CIDRs into b (normalised); none: nothing appended. */
static size_t cidr_set(struct buf *b, const json_t *list)
{
        size_t i, n = 0;
        const json_t *v;
        json_array_foreach(list, i, v)
        {
                uint32_t a;
                unsigned p;
                char d[16];
                if (parse_cidr(json_string_value(v), &a, &p) < 0)
                        continue;
                dotted(a, d);
                buf_printf(b, "%s%s/%u", n++ ? ", " : "{ ", d, p);
        }
        if (n)
                buf_printf(b, " }");
        return n;
}

int net_policy_is_default(const struct net_policy *p)
{
        return p->internet && count_cidrs(p->allow_out) == 0 && count_cidrs(p->deny_out) == 0 &&
               !net_policy_has_domains(p);
}

/* A machine's chains and set are named after its slot (e_N, h_N, d_N): a pool
 * namespace's rules are made before the machine that takes it is known. */
static void policy_rules(struct buf *b, const char *t, unsigned n, const struct net_policy *p)
{
        buf_printf(b, "add chain inet %s e_%u\nadd chain inet %s h_%u\n", t, n, t, n);
        buf_printf(b, "add set inet %s d_%u { type ipv4_addr; flags timeout; }\n", t, n);
        buf_printf(b, "flush chain inet %s e_%u\nflush chain inet %s h_%u\n", t, n, t, n);
        buf_printf(b, "add rule inet %s e_%u ct state established,related accept\n", t, n);
        if (p->deny_out && count_cidrs(p->deny_out)) {
                buf_printf(b, "add rule inet %s e_%u ip daddr ", t, n);
                cidr_set(b, p->deny_out);
                buf_printf(b, " drop\n");
        }
        /* addresses the resolver proxy learned for allowed domains */
        buf_printf(b, "add rule inet %s e_%u ip daddr @d_%u accept\n", t, n, n);
        if (p->allow_out && count_cidrs(p->allow_out)) {
                buf_printf(b, "add rule inet %s e_%u ip daddr ", t, n);
                cidr_set(b, p->allow_out);
                buf_printf(b, " accept\nadd rule inet %s h_%u ip daddr ", t, n);
                cidr_set(b, p->allow_out);
                buf_printf(b, " accept\n");
        }
        if (!p->internet)
                buf_printf(b, "add rule inet %s e_%u drop\n", t, n);
}

int net_plan_make(const struct net_host *h, const char *id, unsigned slot,
                  const struct net_policy *p, struct net_plan *plan)
{
        memset(plan, 0, sizeof(*plan));
        snprintf(plan->netns, sizeof(plan->netns), "nsm-%s", id ? id : "");
        snprintf(plan->host_if, sizeof(plan->host_if), "nsh%u", slot);
        net_addr(h, slot, 0, plan->host_ip);
        net_addr(h, slot, 1, plan->guest_ip);
        plan->mtu = h->mtu;
        net__pool_names(h, slot, NULL, 0, plan->pool_netns, sizeof(plan->pool_netns));
        struct buf b;
        buf_init(&b, 1u << 20);
        policy_rules(&b, h->table, slot, p);
        const char *t = h->table, *f = plan->host_if;
        buf_printf(&b, "add element inet %s ifaces { \"%s\" }\n", t, f);
        buf_printf(&b, "add element inet %s saddrs { %s }\n", t, plan->guest_ip);
        buf_printf(&b, "add element inet %s egress { \"%s\" : jump e_%u }\n", t, f, slot);
        buf_printf(&b, "add element inet %s hostin { \"%s\" : jump h_%u }\n", t, f, slot);
        /* machines with domains in their policy resolve through the daemon's proxy */
        buf_printf(&b, "add element inet %s dnsifaces { \"%s\" }\n", t, f);
        if (!net_policy_has_domains(p))
                buf_printf(&b, "delete element inet %s dnsifaces { \"%s\" }\n", t, f);
        if (!b.data)
                return -ENOMEM;
        plan->nft = b.data; /* NUL-terminated; owned by the plan now */
        return 0;
}

void net_plan_free(struct net_plan *plan)
{
        free(plan->nft);
        plan->nft = NULL;
}

int net__ns_exists(const char *netns)
{
        char path[128];
        snprintf(path, sizeof(path), NET_NS_DIR "/%s", netns);
        return access(path, F_OK) == 0;
}

int net__nft(const char *script)
{
        return nft_script(script, 0);
}

int net__make_ns(const char *netns, const char *host_if, const char *host_ip, const char *guest_ip,
                 unsigned mtu)
{
        char root[512], inner[256], m[24] = "";
        if (mtu)
                snprintf(m, sizeof(m), " mtu %u", mtu);
        snprintf(root, sizeof(root),
                 "netns add %s\n"
                 "link add %s%s type veth peer name eth0%s netns %s\n"
                 "addr add %s/30 dev %s\n"
                 "link set %s up\n",
                 netns, host_if, m, m, netns, host_ip, host_if, host_if);
        snprintf(inner, sizeof(inner),
                 "addr add %s/30 dev eth0\nlink set eth0 up\nlink set lo up\n"
                 "route add default via %s\n",
                 guest_ip, host_ip);
        const char *ip_root[] = {"ip", "-batch", "-", NULL};
        const char *ip_inner[] = {"ip", "-n", netns, "-batch", "-", NULL};
        if (run_cmd(ip_root, root, 0) != 0 || run_cmd(ip_inner, inner, 0) != 0) {
                fprintf(stderr, "nullspace: network namespace %s could not be set up\n", netns);
                return -1;
        }
        return 0;
}

int net_setup(const struct net_plan *plan)
{
        int had = net__ns_exists(plan->netns);
        if (had) {
                /* gVisor took the address off eth0 when it started: give it back */
                char again[160];
                snprintf(again, sizeof(again),
                         "addr replace %s/30 dev eth0\nroute replace default via %s\n",
                         plan->guest_ip, plan->host_ip);
                const char *ip_inner[] = {"ip", "-n", plan->netns, "-batch", "-", NULL};
                if (run_cmd(ip_inner, again, 0) != 0) {
                        fprintf(stderr, "nullspace: cannot re-address %s\n", plan->netns);
                        return -1;
                }
        } else if (net__pool_adopt(plan->pool_netns, plan->netns) == 0) {
                had = 1; /* with the rules of the default policy */
        } else if (net__make_ns(plan->netns, plan->host_if, plan->host_ip, plan->guest_ip,
                                plan->mtu) < 0) {
                return -1;
        }
        if (!(had && plan->rules_ready) && nft_script(plan->nft, 0) < 0) {
                fprintf(stderr, "nullspace: nftables rules for %s were refused\n", plan->netns);
                return -1;
        }
        return net_enter(plan->netns + 4);
}

int net_apply(const struct net_plan *plan)
{
        return nft_script(plan->nft, 0);
}

int net_enter(const char *id)
{
        char path[128];
        snprintf(path, sizeof(path), NET_NS_DIR "/nsm-%s", id);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return errno == ENOENT ? 0 : -1;
        int r = unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_SLAVE, NULL) == 0 &&
                        setns(fd, CLONE_NEWNET) == 0
                    ? 0
                    : -1;
        close(fd);
        if (r < 0) {
                fprintf(stderr, "nullspace: cannot join %s: %s\n", path, strerror(errno));
                return -1;
        }
        /* runsc 20221219 takes a namespace with net.core.rmem_default for the host's;
         * newer kernels have it in every namespace: hide it from runsc */
        mount("none", "/proc/sys/net/core", "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=4k");
        return 0;
}

int net_learn(const struct net_host *h, unsigned slot, const uint32_t *addrs, const uint32_t *ttls,
              int n)
{
        struct buf b;
        buf_init(&b, 1u << 16);
        for (int i = 0; i < n; i++) {
                char d[16];
                dotted(ntohl(addrs[i]), d);
                uint32_t t = ttls[i] < 60 ? 60 : ttls[i] > 3600 ? 3600 : ttls[i];
                buf_printf(&b, "add element inet %s d_%u { %s timeout %us }\n", h->table, slot, d,
                           (unsigned)t);
        }
        int r = b.data ? nft_script(b.data, 0) : -1;
        buf_fini(&b);
        return r;
}

int net_live_connections(const char *guest_ip)
{
        FILE *f = fopen("/proc/net/nf_conntrack", "re");
        if (!f)
                return 0;
        long tw = 120;
        FILE *t = fopen("/proc/sys/net/netfilter/nf_conntrack_tcp_timeout_time_wait", "re");
        if (t && fscanf(t, "%ld", &tw) != 1)
                tw = 120;
        if (t)
                fclose(t);
        char src[32], dst[32], line[512];
        snprintf(src, sizeof(src), " src=%s ", guest_ip);
        snprintf(dst, sizeof(dst), " dst=%s ", guest_ip);
        int n = 0;
        while (fgets(line, sizeof(line), f)) {
                char proto[8], state[24];
                long left;
                if (sscanf(line, "%*s %*d %7s %*d %ld %23s", proto, &left, state) != 3 ||
                    strcmp(proto, "tcp") != 0 || (!strstr(line, src) && !strstr(line, dst)))
                        continue;
                /* a TIME_WAIT of a connection the host opened is the host's own (the
                 * host closes first: the preview proxy tells the daemon otherwise) */
                int outbound = strstr(line, src) && strstr(line, src) < strstr(line, "dst=");
                if (strcmp(state, "CLOSE") == 0 ||
                    (strcmp(state, "TIME_WAIT") == 0 && (left < tw - 62 || !outbound)))
                        continue;
                n++;
        }
        fclose(f);
        return n;
}

/* The slot of machine `id` (NET_CLAIM_DIR/ID names it), 0 when none. */
static unsigned find_slot(const char *id)
{
        char path[128], buf[16] = {0};
        snprintf(path, sizeof(path), NET_CLAIM_DIR "/%s", id);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        ssize_t n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        return n > 0 ? (unsigned)strtoul(buf, NULL, 10) : 0;
}

void net__teardown_rules(const struct net_host *h, unsigned slot)
{
        if (!slot)
                return;
        const char *t = h->table;
        char gip[16];
        net_addr(h, slot, 1, gip);
        struct buf b;
        buf_init(&b, 1u << 14);
        /* one transaction; each thing is added first (a no-op when there), so no delete
         * can fail */
        buf_printf(&b, "add chain inet %s e_%u\nadd chain inet %s h_%u\n", t, slot, t, slot);
        buf_printf(&b, "add set inet %s d_%u { type ipv4_addr; flags timeout; }\n", t, slot);
        buf_printf(&b, "add element inet %s egress { \"nsh%u\" : jump e_%u }\n", t, slot, slot);
        buf_printf(&b, "add element inet %s hostin { \"nsh%u\" : jump h_%u }\n", t, slot, slot);
        static const char *const sets[] = {"ifaces", "dnsifaces"};
        for (unsigned i = 0; i < 2; i++)
                buf_printf(&b, "add element inet %s %s { \"nsh%u\" }\n", t, sets[i], slot);
        buf_printf(&b, "add element inet %s saddrs { %s }\n", t, gip);
        static const char *const all[] = {"egress", "hostin", "ifaces", "dnsifaces"};
        for (unsigned i = 0; i < 4; i++)
                buf_printf(&b, "delete element inet %s %s { \"nsh%u\" }\n", t, all[i], slot);
        buf_printf(&b, "delete element inet %s saddrs { %s }\n", t, gip);
        buf_printf(&b, "flush chain inet %s e_%u\nflush chain inet %s h_%u\n", t, slot, t, slot);
        buf_printf(&b, "delete chain inet %s e_%u\ndelete chain inet %s h_%u\n", t, slot, t, slot);
        buf_printf(&b, "delete set inet %s d_%u\n", t, slot);
        if (b.data)
                nft_script(b.data, 1);
        buf_fini(&b);
}

void net_teardown(const struct net_host *h, const char *id)
{
        char netns[64];
        snprintf(netns, sizeof(netns), "nsm-%s", id);
        unsigned slot = find_slot(id);
        net__teardown_rules(h, slot);
        net__ns_delete(netns);
        if (slot) { /* given to the machine from the pool but never taken over */
                net__pool_names(h, slot, NULL, 0, netns, sizeof(netns));
                net__ns_delete(netns);
        }
        net_release(slot, id);
}
