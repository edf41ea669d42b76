/* A volume's files without a machine: the same nsagent machines run, started on the
 * host in files-only mode and confined to the volume (volumes.h). One per volume,
 * started on first use, stopped after VOLUME_AGENT_IDLE_MS with no channel open, when
 * the daemon closes its stream, or when the volume is deleted. */
#include <errno.h>
#include <stddef.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../common/log.h"
#include "../common/util.h"
#include "core.h"
#include "volumes.h"
#include "volumes_internal.h"

#define VOLUME_AGENT_IDLE_MS 60000

struct volume_agent {
        struct child_watch w; /* first: the child's exit finds the agent */
        struct loop_timer idle;
        struct agent_conn conn;
        struct core *core;
        char id[MACHINE_ID_MAX];
        int lost;
        struct volume_agent *next;
};

/* Capabilities the agent keeps: what root needs to own, read and write any file. */
static const int keep_caps[] = {CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FOWNER, CAP_FSETID};

static int kept(int cap)
{
        for (size_t i = 0; i < sizeof(keep_caps) / sizeof(keep_caps[0]); i++)
                if (keep_caps[i] == cap)
                        return 1;
        return 0;
}

/* In the child: confine to mnt and become the agent. Never returns. */
static void exec_confined(const char *agent_path, const char *mnt, int sock)
{
        int agent = open(agent_path, O_RDONLY | O_CLOEXEC);
        if (agent < 0 || dup2(sock, 0) < 0 || dup2(sock, 1) < 0)
                _exit(120);
        if (unshare(CLONE_NEWNS | CLONE_NEWNET | CLONE_NEWIPC | CLONE_NEWUTS) < 0 ||
            mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 || chdir(mnt) < 0 ||
            chroot(".") < 0 || chdir("/") < 0)
                _exit(121);
        for (int cap = 0; cap <= CAP_LAST_CAP; cap++)
                if (!kept(cap) && prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
                        _exit(122);
        if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
                _exit(122);
        char *argv[] = {"nsagent", "--files-only", NULL};
        char *envp[] = {"PATH=/usr/bin:/bin", "LANG=C.UTF-8", NULL};
        fexecve(agent, argv, envp);
        _exit(123);
}

static void on_agent_exit(struct child_watch *w, int status)
{
        struct volume_agent *va = (struct volume_agent *)w;
        struct volume_agent **pp = &va->core->volume_agents;
        while (*pp && *pp != va)
                pp = &(*pp)->next;
        if (*pp)
                *pp = va->next;
        log_info("volume_agent_exit", "volume=%s status=%d", va->id, status);
        loop_timer_cancel(&va->core->loop, &va->idle);
        agentconn_fini(&va->conn);
        free(va);
}

static void on_state(struct agent_conn *a, json_t *hello)
{
        struct volume_agent *va = a->owner;
        if (!hello && !va->lost) { /* the stream broke: the child goes, its exit frees */
                va->lost = 1;
                kill(va->w.pid, SIGKILL);
        }
}

/* Every VOLUME_AGENT_IDLE_MS: an agent with no channel open goes (the next call starts
 * another; a watch is a channel, so a watched volume keeps its agent). */
static void on_idle_check(struct loop_timer *t)
{
        struct volume_agent *va =
            (struct volume_agent *)((char *)t - offsetof(struct volume_agent, idle));
        if (va->lost)
                return;
        if (va->conn.chans) {
                loop_timer_arm(&va->core->loop, &va->idle, VOLUME_AGENT_IDLE_MS, on_idle_check);
                return;
        }
        log_info("volume_agent_idle", "volume=%s", va->id);
        va->lost = 1;
        kill(va->w.pid, SIGKILL);
}

static struct volume_agent *start_agent(struct core *core, const char *id, struct err *e)
{
        char mnt[PATH_MAX];
        volume_dir(core, id, "mnt", mnt, sizeof(mnt));
        if (!volume_is_mounted(core, id)) {
                err_coded(e, NS_E_IO_ERROR, EIO, "volume %s is not mounted on the host", id);
                return NULL;
        }
        int sv[2];
        struct volume_agent *va = calloc(1, sizeof(*va));
        if (!va || socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
                err_set(e, va ? errno : ENOMEM, "volume agent");
                free(va);
                return NULL;
        }
        pid_t pid = fork_child();
        if (pid == 0)
                exec_confined(core->agent_path, mnt, sv[1]);
        close(sv[1]);
        if (pid < 0 || agentconn_init(&va->conn, &core->loop, sv[0], sv[0], on_state, va, e) < 0) {
                if (pid < 0)
                        err_set(e, errno, "fork");
                else
                        kill(pid, SIGKILL); /* reaped by the registry as an unknown child */
                close(sv[0]);
                free(va);
                return NULL;
        }
        va->core = core;
        va->w.pid = pid;
        va->w.on_exit = on_agent_exit;
        snprintf(va->id, sizeof(va->id), "%s", id);
        children_watch(&core->children, &va->w);
        loop_timer_arm(&core->loop, &va->idle, VOLUME_AGENT_IDLE_MS, on_idle_check);
        va->next = core->volume_agents;
        core->volume_agents = va;
        log_info("volume_agent_start", "volume=%s pid=%d", id, (int)pid);
        return va;
}

static struct volume_agent *find_agent(struct core *core, const char *id)
{
        for (struct volume_agent *va = core->volume_agents; va; va = va->next)
                if (!va->lost && strcmp(va->id, id) == 0)
                        return va;
        return NULL;
}

uint32_t volume_open_channel(struct core *core, const char *id, const json_t *req,
                             agent_frame_cb cb, void *ud, struct agent_conn **conn, struct err *e)
{
        struct volume_agent *va = find_agent(core, id);
        if (!va && !(va = start_agent(core, id, e)))
                return 0;
        uint32_t chan = agentconn_open(&va->conn, req, cb, ud);
        if (!chan)
                err_coded(e, NS_E_IO_ERROR, EIO, "the volume's file agent does not answer");
        if (conn)
                *conn = chan ? &va->conn : NULL;
        return chan;
}

void volume_agent_stop(struct core *core, const char *id)
{
        struct volume_agent *va;
        while ((va = find_agent(core, id))) {
                va->lost = 1;
                kill(va->w.pid, SIGKILL);
        }
}

void volume_agents_stop_all(struct core *core)
{
        for (struct volume_agent *va = core->volume_agents; va; va = va->next)
                if (!va->lost) {
                        va->lost = 1;
                        kill(va->w.pid, SIGKILL);
                }
}
