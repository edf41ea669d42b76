/* nullspace doctor: operator checks of this host and its daemon, each with a verdict
 * (ok, warn, fail), what was found, and how to fix it (docs/operations.md). Reads the
 * host directly (/proc, /sys, the runtime's binaries) and asks the daemon what only it
 * knows (readiness, the KVM probe, its state directory). Exits 1 when a check fails. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

struct doctor {
        struct cli *c;
        json_t *checks;
        int failed;
        json_t *info; /* GET /v1/info, or NULL */
        char state_dir[1024];
};

static void verdict(struct doctor *d, const char *name, const char *status, const char *fix,
                    const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Records one check's verdict: status ok|warn|fail; fix NULL when there is none. */
static void verdict(struct doctor *d, const char *name, const char *status, const char *fix,
                    const char *fmt, ...)
{
        char detail[2048];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof(detail), fmt, ap);
        va_end(ap);
        json_array_append_new(d->checks, json_pack("{s:s,s:s,s:s,s:s?}", "name", name, "status",
                                                   status, "detail", detail, "fix", fix));
        d->failed |= strcmp(status, "fail") == 0;
}

/* The first line a command prints (stdout and stderr), "" when it cannot run. */
static void first_line(const char *cmd, char *out, size_t cap)
{
        out[0] = '\0';
        FILE *p = popen(cmd, "r");
        if (!p)
                return;
        if (fgets(out, (int)cap, p))
                out[strcspn(out, "\n")] = '\0';
        while (fgetc(p) != EOF)
                ;
        if (pclose(p) != 0)
                out[0] = '\0';
}

static void check_daemon(struct doctor *d)
{
        struct cli_resp r;
        d->c->quiet = 1;
        int rc = cli_request(d->c, "GET", "/healthz", NULL, 0, &r); /* does it answer? */
        if (rc) {
                verdict(d, "daemon", "fail",
                        "start it: systemctl start nullspaced (or scripts/start.sh)",
                        "no answer from %s", d->c->api_url);
                d->c->quiet = 0;
                return;
        }
        cli_resp_free(&r);
        rc = cli_request(d->c, "GET", "/v1/info", NULL, 1, &r);
        d->c->quiet = 0;
        if (rc == 0 && r.status == 200 && r.doc)
                d->info = json_incref(r.doc);
        long st = r.status;
        cli_resp_free(&r);
        if (!d->info) {
                verdict(d, "daemon", "fail",
                        "give its key: --api-key, NULLSPACE_API_KEY or the config file",
                        "%s answers, but GET /v1/info said HTTP %ld", d->c->api_url, st);
                return;
        }
        verdict(d, "daemon", "ok", NULL, "%s answers, version %s, store schema %lld", d->c->api_url,
                json_string_value(json_object_get(d->info, "version")),
                json_integer_value(json_object_get(d->info, "schema_version")));
        const char *sd = json_string_value(json_object_get(d->info, "state_dir"));
        if (sd)
                snprintf(d->state_dir, sizeof(d->state_dir), "%s", sd);
}

/* The base template (and the VM guest): ready, building (how far), or failed. */
static void check_prepared(struct doctor *d)
{
        size_t i;
        json_t *t;
        json_t *tasks = d->info ? json_object_get(d->info, "prepare") : NULL;
        if (!tasks) {
                verdict(d, "base template", "warn", "start the daemon, then run doctor again",
                        "unknown: the daemon did not answer");
                return;
        }
        json_array_foreach(tasks, i, t)
        {
                const char *name = json_string_value(json_object_get(t, "name"));
                const char *state = json_string_value(json_object_get(t, "state"));
                const char *label = !strcmp(name, "base_template") ? "base template" : "vm guest";
                if (!strcmp(state, "ready"))
                        verdict(d, label, "ok", NULL, "ready");
                else if (!strcmp(state, "building"))
                        verdict(d, label, "warn", "wait: creates wait for it too",
                                "building: step %lld/%lld %s, %lld s",
                                json_integer_value(json_object_get(t, "step")),
                                json_integer_value(json_object_get(t, "steps")),
                                json_string_value(json_object_get(t, "stage")),
                                json_integer_value(json_object_get(t, "elapsed_s")));
                else
                        verdict(d, label, "fail",
                                "read the daemon's log (msg=prep); the next create tries again",
                                "%s%s%s", state, json_object_get(t, "error") ? ": " : "",
                                json_string_value(json_object_get(t, "error")) ?: "");
        }
}

static void check_runsc(struct doctor *d)
{
        char line[256];
        first_line("runsc --version 2>&1", line, sizeof(line));
        if (!line[0])
                verdict(d, "runsc", "fail", "apt-get install runsc",
                        "gVisor's runsc is not installed or does not run");
        else
                verdict(d, "runsc", "ok", NULL, "%s", line);
}

static void check_cgroup(struct doctor *d)
{
        if (access("/sys/fs/cgroup/cgroup.controllers", R_OK) == 0)
                verdict(d, "cgroup v2", "ok", NULL, "unified hierarchy at /sys/fs/cgroup");
        else
                verdict(d, "cgroup v2", "warn",
                        "boot with systemd.unified_cgroup_hierarchy=1 (Debian 12's default)",
                        "cgroup v1: machines run, metrics come from the v1 controllers");
}

static void check_nftables(struct doctor *d)
{
        char line[256];
        first_line("nft --version 2>&1", line, sizeof(line));
        if (!line[0]) {
                verdict(d, "nftables", "fail", "apt-get install nftables iproute2",
                        "nft is missing: machines get no network");
                return;
        }
        json_t *net = d->info ? json_object_get(d->info, "network") : NULL;
        if (net && !json_is_true(json_object_get(net, "enabled")))
                verdict(d, "nftables", "fail", "run the daemon as root with nf_tables available",
                        "%s, but the daemon's machines have no network: %s", line,
                        json_string_value(json_object_get(net, "reason")) ?: "?");
        else
                verdict(d, "nftables", "ok", NULL, "%s", line);
}

/* The daemon's probe (GET /v1/info: vm accel) when it answers, else /dev/kvm. */
static void check_kvm(struct doctor *d)
{
        size_t i;
        json_t *rt;
        json_array_foreach(d->info ? json_object_get(d->info, "runtimes") : NULL, i, rt)
        {
                const char *accel = json_string_value(json_object_get(rt, "accel"));
                if (!accel)
                        continue;
                if (!strcmp(accel, "kvm"))
                        verdict(d, "kvm", "ok", NULL, "VM machines run on KVM");
                else
                        verdict(d, "kvm", "warn",
                                "use a host whose /dev/kvm runs guests for fast VMs (gVisor "
                                "machines are not affected)",
                                "the probe found /dev/kvm %s: VM machines are emulated (TCG)",
                                access("/dev/kvm", R_OK | W_OK) == 0 ? "unable to run guests"
                                                                     : "missing");
                return;
        }
        verdict(d, "kvm", access("/dev/kvm", R_OK | W_OK) == 0 ? "ok" : "warn",
                "install qemu-system-x86 for VM machines", "no VM runtime reported; /dev/kvm %s",
                access("/dev/kvm", R_OK | W_OK) == 0 ? "present" : "missing");
}

static void check_disk(struct doctor *d)
{
        struct statvfs v;
        if (statvfs(d->state_dir, &v) < 0) {
                verdict(d, "disk", "warn", "give --state-dir DIR (or NULLSPACE_STATE_DIR)",
                        "cannot read %s: %s", d->state_dir, strerror(errno));
                return;
        }
        unsigned long long free_mib = (unsigned long long)v.f_bavail * v.f_frsize >> 20;
        const char *fix = "free space, or move the state directory to a larger disk";
        if (free_mib < 1024)
                verdict(d, "disk", "fail", fix, "%llu MiB free in %s: checkpoints will not fit",
                        free_mib, d->state_dir);
        else if (free_mib < 5120)
                verdict(d, "disk", "warn", fix, "%llu MiB free in %s", free_mib, d->state_dir);
        else
                verdict(d, "disk", "ok", NULL, "%llu MiB free in %s", free_mib, d->state_dir);
}

/* How many idle gVisor machines the host's PIDs allow (about 40 threads each, each a
 * PID; the daemon raises kernel.pid_max at start) and its memory holds (about 22 MiB
 * each, running or paused; hibernated ones hold none). docs/operations.md#density */
static void check_density(struct doctor *d)
{
        char buf[64];
        long pid_max = read_small("/proc/sys/kernel/pid_max", buf, sizeof(buf)) > 0 ? atol(buf) : 0;
        long mem_mib = sysconf(_SC_PHYS_PAGES) / 1024 * (sysconf(_SC_PAGESIZE) / 1024) / 1024;
        long by_pids = pid_max / 42, by_mem = mem_mib / 22;
        if (pid_max > 0 && by_pids < 1000 && by_pids < by_mem)
                verdict(d, "density", "warn",
                        "start the daemon (it raises it) or: sysctl -w kernel.pid_max=4194304",
                        "kernel.pid_max %ld lets about %ld machines run", pid_max, by_pids);
        else
                verdict(d, "density", "ok", NULL,
                        "about %ld idle machines fit in %ld MiB (more hibernated)", by_mem,
                        mem_mib);
}

/* The directory a sandbox process belongs to: the DIR of "--root DIR/runsc" (runsc) or
 * of an argument DIR/machines/ID of nsshim (the shim); 0 when it is neither. */
static int process_state_dir(const char *pid, char *out, size_t cap)
{
        char path[64], cmd[4096];
        snprintf(path, sizeof(path), "/proc/%.20s/cmdline", pid);
        ssize_t got = read_small(path, cmd, sizeof(cmd));
        if (got <= 0)
                return 0;
        size_t n = (size_t)got;
        const char *prev = "", *base = strrchr(cmd, '/');
        int shim = !strcmp(base ? base + 1 : cmd, "nsshim");
        for (size_t i = 0; i < n; i += strlen(cmd + i) + 1) {
                const char *a = cmd + i, *end;
                if (!strcmp(prev, "--root") && (end = strstr(a, "/runsc")) && !end[6]) {
                        snprintf(out, cap, "%.*s", (int)(end - a), a);
                        return 1;
                }
                if (shim && (end = strstr(a, "/machines/"))) {
                        snprintf(out, cap, "%.*s", (int)(end - a), a);
                        return 1;
                }
                prev = a;
        }
        return 0;
}

/* Sandboxes and shims whose state directory is gone: no daemon will ever adopt them. */
static void check_leftovers(struct doctor *d)
{
        DIR *dir = opendir("/proc");
        int orphans = 0;
        char first[1024] = "";
        for (struct dirent *de; dir && (de = readdir(dir));) {
                char sd[1024];
                if (de->d_name[0] < '1' || de->d_name[0] > '9' ||
                    !process_state_dir(de->d_name, sd, sizeof(sd)) || access(sd, F_OK) == 0)
                        continue;
                if (!orphans++)
                        snprintf(first, sizeof(first), "pid %.20s of %.900s", de->d_name, sd);
        }
        if (dir)
                closedir(dir);
        if (orphans)
                verdict(d, "leftovers", "fail",
                        "kill them (their state directory is gone: nothing adopts them)",
                        "%d sandbox process(es) of removed state directories, e.g. %s", orphans,
                        first);
        else
                verdict(d, "leftovers", "ok", NULL, "no sandbox of a removed state directory");
}

static void print_human(const struct doctor *d)
{
        size_t i;
        json_t *c;
        json_array_foreach(d->checks, i, c)
        {
                const char *st = json_string_value(json_object_get(c, "status"));
                printf("%-5s %-14s %s\n", st, json_string_value(json_object_get(c, "name")),
                       json_string_value(json_object_get(c, "detail")));
                const char *fix = json_string_value(json_object_get(c, "fix"));
                if (fix && strcmp(st, "ok") != 0)
                        printf("      %-14s fix: %s\n", "", fix);
        }
}

int cmd_doctor(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("doctor");
        const char *v[1] = {0};
        int npos, rc = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        if (rc)
                return rc;
        if (npos != 0)
                return cli_usage_error(cmd, "doctor takes no arguments");
        struct doctor d = {.c = c, .checks = json_array()};
        const char *env = getenv("NULLSPACE_STATE_DIR");
        snprintf(d.state_dir, sizeof(d.state_dir), "%s",
                 v[0]          ? v[0]
                 : env && *env ? env
                               : "/var/lib/nullspace");
        check_daemon(&d);
        if (v[0]) /* a directory given wins over the daemon's */
                snprintf(d.state_dir, sizeof(d.state_dir), "%s", v[0]);
        check_prepared(&d);
        check_runsc(&d);
        check_cgroup(&d);
        check_nftables(&d);
        check_kvm(&d);
        check_disk(&d);
        check_density(&d);
        check_leftovers(&d);
        if (c->json) {
                json_t *doc = json_pack("{s:b,s:O}", "ok", !d.failed, "checks", d.checks);
                cli_print_json(doc);
                json_decref(doc);
        } else {
                print_human(&d);
        }
        json_decref(d.checks);
        json_decref(d.info);
        return d.failed ? 1 : 0;
}
