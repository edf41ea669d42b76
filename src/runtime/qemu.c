/* The VM driver ({"runtime":"vm"}): each machine is a QEMU virtual machine — Debian's
 * cloud kernel, our initramfs (scripts/vm-assets.sh, scripts/vm-init.sh) and a
 * copy-on-write qcow2 disk over an ext4 image of the template made without loop mounts
 * (mkfs.ext4 -d). nsagent runs in the guest on a virtio-serial port that QEMU maps to
 * its own stdin/stdout, which the machine's shim holds — the same agent stream as in
 * gVisor machines. Hardware-accelerated (KVM) where a probe shows /dev/kvm runs the
 * guest, emulated (TCG) elsewhere. No network and no checkpoints yet. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "driver.h"
#include "kvm.h"
#include "net.h"
#include "cgroup.h"
#include "qemu_internal.h"
#include "run.h"
#include "shim.h"

#define QEMU "qemu-system-x86_64"

static void vm_file(const struct driver_ctx *ctx, const char *name, char *out, size_t cap)
{
        snprintf(out, cap, "%s/vm/%s", ctx->cache_dir, name);
}

static int use_kvm(const struct driver_ctx *ctx);
static int qm_probe(const struct driver_ctx *ctx, struct err *e);

static int qm_probe(const struct driver_ctx *ctx, struct err *e)
{
        (void)ctx; /* the guest's kernel is a prep task of its own (core/vm_guest.c) */
        /* a file check, like gVisor's: this runs on every create and GET /v1/info */
        if (access("/usr/bin/" QEMU, X_OK) < 0 && access("/usr/local/bin/" QEMU, X_OK) < 0)
                return err_set(e, ENOENT, "%s is not installed (Debian package qemu-system-x86)",
                               QEMU);
        return 0;
}

/* In the child that becomes the shim: the machine's namespace and rules as for gVisor
 * (net_setup, which also joins the namespace), then its eth0 given up to a bridge with a
 * tap for QEMU (the guest's own kernel holds the address, set by its init from
 * DIR/net). -1 on failure. */
int qemu_net(const struct machine_spec *s)
{
        if (!s->net)
                return 0;
        static const char bridge[] =
            "ip addr flush dev eth0\n"
            "ip link show br0 >/dev/null 2>&1 || ip link add br0 type bridge\n"
            "ip link show tap0 >/dev/null 2>&1 || ip tuntap add dev tap0 mode tap\n"
            "ip link set eth0 master br0 && ip link set tap0 master br0\n"
            "ip link set br0 up && ip link set tap0 up && ip link set eth0 up\n";
        const char *argv[] = {"sh", "-ec", bridge, NULL};
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/net", s->dir);
        FILE *f = net_setup(s->net) == 0 && run_cmd(argv, NULL, 0) == 0 ? fopen(path, "w") : NULL;
        if (!f)
                return -1;
        fprintf(f, "%s %s %u\n", s->net->guest_ip, s->net->host_ip, s->net->mtu);
        return fclose(f);
}

/* The environment file the guest's init sources: `export 'K=V'` lines. */
static int write_env(const char *dir, char *const *env)
{
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s/env", dir);
        FILE *f = fopen(path, "w");
        if (!f)
                return -1;
        for (char *const *kv = env; kv && *kv; kv++) {
                fputs("export '", f);
                for (const char *c = *kv; *c; c++)
                        fputs(*c == '\'' ? "'\\''" : (char[]){*c, 0}, f);
                fputs("'\n", f);
        }
        return fclose(f);
}

/* Makes the machine's initramfs (ours + the machine's own part: nsagent, env,
 * hostname). Runs in the child that becomes the shim: blocking is fine. */
static const char prepare_script[] =
    "set -e\n"
    "dir=$1 vm=$2 agent=$3 host=$4\n"
    "mkdir -p \"$dir/guest/ns\"\n"
    "cp \"$agent\" \"$dir/guest/ns/nsagent\"\n"
    "printf '%s\\n' \"$host\" > \"$dir/guest/ns/hostname\"\n"
    "cp \"$dir/env\" \"$dir/guest/ns/env\"\n"
    "if [ -f \"$dir/net\" ]; then cp \"$dir/net\" \"$dir/guest/ns/net\"; fi\n"
    "if [ -f \"$dir/mounts\" ]; then cp \"$dir/mounts\" \"$dir/guest/ns/mounts\"; fi\n"
    "(cd \"$dir/guest\" && find . | busybox cpio -o -H newc 2>/dev/null) > \"$dir/guest.cpio\"\n"
    "cat \"$vm/initrd.cpio\" \"$dir/guest.cpio\" > \"$dir/initrd\"\n"
    "rm -rf \"$dir/guest\" \"$dir/guest.cpio\"\n";

/* The child that becomes the shim of a cold start: network, disk, initramfs, QEMU. */
static void start_child(const struct driver_ctx *ctx, const struct machine_spec *s, const char *vm)
{
        struct err e = {0};
        int null = open("/dev/null", O_RDWR | O_CLOEXEC);
        dup2(null, 0);
        dup2(null, 1);
        if (qemu_net(s) < 0 || write_env(s->dir, s->env) < 0 || qemu_new_disk(s, &e) < 0 ||
            qemu_volumes_start(s) < 0) {
                fprintf(stderr, "nullspace: VM %s: %s\n", s->id,
                        e.msg[0] ? e.msg : "set-up failed");
                _exit(126);
        }
        const char *argv[] = {"sh",   "-c", prepare_script,  "nullspace-vm-prepare",
                              s->dir, vm,   ctx->agent_path, s->hostname,
                              NULL};
        if (run_cmd(argv, NULL, 0) != 0)
                _exit(126);
        qemu_exec(ctx, s, NULL);
}

/* vm/accel-BOOT_ID: what the probe found during this boot of the host. */
static void accel_file(const struct driver_ctx *ctx, char *out, size_t cap)
{
        char boot[64] = "unknown", name[96];
        FILE *b = fopen("/proc/sys/kernel/random/boot_id", "r");
        if (b) {
                if (!fgets(boot, sizeof(boot), b))
                        snprintf(boot, sizeof(boot), "unknown");
                boot[strcspn(boot, "\n")] = '\0';
                fclose(b);
        }
        snprintf(name, sizeof(name), "accel-%s", boot);
        vm_file(ctx, name, out, cap);
}

/* Boots the guest kernel under KVM in probe mode (its init answers and powers off). */
static const char probe_script[] =
    "timeout 20 " QEMU " -M pc -accel kvm -cpu host -m 256 -nodefaults -no-user-config "
    "-display none -serial stdio -kernel \"$1\" -initrd \"$2\" "
    "-append 'console=ttyS0 quiet panic=-1 nullspace.probe' -no-reboot 2>/dev/null | "
    "grep -q nullspace-probe-ok\n";

void qemu_probe_accel(const struct driver_ctx *ctx)
{
        char path[PATH_MAX], tmp[PATH_MAX + 16], kernel[PATH_MAX], initrd[PATH_MAX];
        accel_file(ctx, path, sizeof(path));
        if (access(path, F_OK) == 0 || qm_probe(ctx, &(struct err){0}) < 0)
                return;
        if (shim_fork_helper() != 0)
                return; /* the reaper collects it */
        char lock[PATH_MAX];
        vm_file(ctx, "accel.lock", lock, sizeof(lock));
        int lfd = open(lock, O_WRONLY | O_CREAT | O_CLOEXEC, 0600);
        if (lfd < 0 || flock(lfd, LOCK_EX | LOCK_NB) < 0 || access(path, F_OK) == 0)
                _exit(0); /* another daemon probes (or just did) */
        struct err e = {0};
        vm_file(ctx, "vmlinuz", kernel, sizeof(kernel));
        vm_file(ctx, "initrd.cpio", initrd, sizeof(initrd));
        const char *argv[] = {"sh",   "-c",   probe_script, "nullspace-kvm-probe",
                              kernel, initrd, NULL};
        int kvm = kvm_usable(&e) == 0;
        if (kvm && run_cmd(argv, NULL, 1) != 0) {
                kvm = 0;
                snprintf(e.msg, sizeof(e.msg), "/dev/kvm does not boot the guest kernel");
        }
        snprintf(tmp, sizeof(tmp), "%s.%d", path, (int)getpid());
        FILE *f = fopen(tmp, "w");
        if (f) {
                fprintf(f, "%s %s\n", kvm ? "kvm" : "tcg", kvm ? "" : e.msg);
                fclose(f);
                rename(tmp, path);
        }
        _exit(0);
}

const char *qemu_accel(const struct driver_ctx *ctx)
{
        return use_kvm(ctx) ? "kvm" : "tcg";
}

/* KVM when the probe (qemu_probe_accel) found it runs the guest during this boot. */
static int use_kvm(const struct driver_ctx *ctx)
{
        char path[PATH_MAX], buf[16] = "";
        accel_file(ctx, path, sizeof(path));
        FILE *f = fopen(path, "r");
        if (f) {
                if (!fgets(buf, sizeof(buf), f))
                        buf[0] = '\0';
                fclose(f);
        }
        return strncmp(buf, "kvm", 3) == 0;
}

void qemu_exec(const struct driver_ctx *ctx, const struct machine_spec *s, const char *incoming)
{
        char kernel[PATH_MAX], initrd[PATH_MAX + 16], disk[PATH_MAX + 32], serial[PATH_MAX + 32],
            pidf[PATH_MAX + 16], drive[PATH_MAX + 64], mem[16], cpus[16], logp[PATH_MAX + 16],
            qmp[PATH_MAX + 48], in[PATH_MAX + 48], nic[96];
        vm_file(ctx, "vmlinuz", kernel, sizeof(kernel));
        snprintf(initrd, sizeof(initrd), "%s/initrd", s->dir);
        snprintf(disk, sizeof(disk), "%s/disk.qcow2", s->dir);
        snprintf(drive, sizeof(drive), "file=%s,if=virtio,format=qcow2", disk);
        snprintf(serial, sizeof(serial), "file:%s/console.log", s->dir);
        snprintf(pidf, sizeof(pidf), "%s/qemu.pid", s->dir);
        snprintf(logp, sizeof(logp), "%s/qemu.log", s->dir);
        snprintf(qmp, sizeof(qmp), "unix:%s/qmp.sock,server=on,wait=off", s->dir);
        /* a restore: the memory and device state from a checkpoint's stream */
        snprintf(in, sizeof(in), "%s%s%s", incoming ? "exec:cat '" : "", incoming ? incoming : "",
                 incoming ? "/memory'" : "");
        snprintf(mem, sizeof(mem), "%u", s->memory_mb ? s->memory_mb : 512);
        snprintf(cpus, sizeof(cpus), "%u", s->vcpus ? s->vcpus : 1);
        int kvm = use_kvm(ctx);
        /* one MAC for all: each machine has a link of its own, and fork children restore
         * the parent's device state */
        snprintf(nic, sizeof(nic), "virtio-net-pci,netdev=net0,mac=52:54:00:6e:73:01");
        int lfd = open(logp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
        if (lfd >= 0)
                dup2(lfd, 2);
        /* QEMU's command line, a flag and its value side by side */
        // clang-format off
        const char *argv[96] = {
            "nsshim", s->dir, "--", QEMU, "-M", "pc", "-accel", kvm ? "kvm" : "tcg",
            "-cpu", kvm ? "host" : "qemu64", "-smp", cpus, "-m", mem,
            "-nodefaults", "-no-user-config", "-display", "none", "-serial", serial,
            "-kernel", kernel, "-initrd", initrd, "-append", "console=ttyS0 quiet panic=-1",
            "-drive", drive, "-device", "virtio-serial",
            "-chardev", "stdio,id=agent,signal=off",
            "-device", "virtserialport,chardev=agent,name=nsagent",
            "-no-reboot", "-pidfile", pidf, "-qmp", qmp,
            "-netdev", s->net ? "tap,id=net0,ifname=tap0,script=no,downscript=no"
                              : "user,id=net0,restrict=on",
            "-device", nic, /* volumes and -incoming follow */
        };
        // clang-format on
        size_t n = 0;
        while (argv[n])
                n++;
        static char store[16384];
        int k = qemu_volume_args(s, argv + n, 90 - n, store, sizeof(store));
        if (k < 0)
                _exit(126);
        n += (size_t)k;
        if (incoming) {
                argv[n++] = "-incoming";
                argv[n++] = in;
        }
        argv[n] = NULL;
        execv(ctx->shim_path, (char *const *)argv);
        _exit(127);
}

int qemu_launch(const struct driver_ctx *ctx, const struct machine_spec *s,
                void (*child)(const struct driver_ctx *, const struct machine_spec *, const char *),
                const char *arg, struct machine_run *run, struct err *e)
{
        if (mkdir(s->dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", s->dir);
        /* sockets a previous shim or QEMU left: only the new ones may be reached */
        static const char *const stale[] = {"agent.sock", "qmp.sock"};
        char sock[PATH_MAX + 32];
        for (size_t i = 0; i < 2; i++) {
                snprintf(sock, sizeof(sock), "%s/%s", s->dir, stale[i]);
                unlink(sock);
        }
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                child(ctx, s, arg);
        if (pid < 0)
                return err_set(e, errno, "fork");
        run->pid = pid;
        run->agent_rfd = run->agent_wfd = -1;
        return 0;
}

static int qm_start(const struct driver_ctx *ctx, const struct machine_spec *s,
                    struct machine_run *run, struct err *e)
{
        char vm[PATH_MAX];
        vm_file(ctx, "", vm, sizeof(vm));
        return qemu_launch(ctx, s, start_child, vm, run, e);
}

/* The pid in DIR/qemu.pid (QEMU's -pidfile), 0 when there is none. */
static pid_t qemu_pid(const char *dir)
{
        char pidf[PATH_MAX + 16];
        snprintf(pidf, sizeof(pidf), "%s/qemu.pid", dir);
        FILE *f = fopen(pidf, "re");
        long pid = 0;
        if (f) {
                if (fscanf(f, "%ld", &pid) != 1)
                        pid = 0;
                fclose(f);
        }
        return pid > 1 ? (pid_t)pid : 0;
}

/* A VM costs what its QEMU process does: the guest's memory is QEMU's. */
static void qm_usage(const struct driver_ctx *ctx, const char *id, const char *dir,
                     struct machine_usage *u)
{
        (void)ctx, (void)id;
        pid_t pid = qemu_pid(dir);
        u->mem_bytes = u->mem_limit = u->cpu_ns = -1;
        if (pid)
                cgroup_process_usage(pid, &u->mem_bytes, &u->mem_limit, &u->cpu_ns);
}

/* The destroy helper: the guest stops with its QEMU; its network and files go. */
static void destroy_helper(const struct driver_ctx *ctx, const char *id, const char *dir)
{
        pid_t pid = qemu_pid(dir);
        if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
                for (int i = 0; i < 100 && kill((pid_t)pid, 0) == 0; i++)
                        usleep(20000);
        if (ctx->net && ctx->net->enabled)
                net_teardown(ctx->net, id);
        const char *rm[] = {"rm", "-rf", "--one-file-system", dir, NULL};
        _exit(run_cmd(rm, NULL, 1) == 0 ? 0 : 1);
}

static pid_t qm_destroy(const struct driver_ctx *ctx, const char *id, const char *dir,
                        const char *keep_layer, pid_t launcher, struct err *e)
{
        (void)launcher; /* QEMU writes its pid file before it runs the guest */
        if (keep_layer)
                return err_set(e, ENOTSUP, "VM machines have no layers to keep");
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                destroy_helper(ctx, id, dir);
        return pid < 0 ? err_set(e, errno, "fork destroy helper") : pid;
}

const struct driver qemu_driver = {
    .name = "vm",
    .layer_file = "disk.qcow2",
    .networking = 1,
    .readdress = 1,
    .checkpoints_tcp = 1,
    .probe = qm_probe,
    .start = qm_start,
    .connect = shim_connect,
    .attach = shim_attach,
    .hibernate = qemu_hibernate,
    .restore = qemu_restore,
    .seal = qemu_seal,
    .destroy = qm_destroy,
    .usage = qm_usage,
    .pause = qemu_pause,
};
