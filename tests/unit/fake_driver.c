/* The fake runtime of the core's unit tests (fake_driver.h). */
#include "fake_driver.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../include/nsproto.h"
#include "../../src/common/util.h"
#include "../../src/runtime/shim.h"

struct fake_knobs fake_knobs;

static int send_frame(int fd, uint16_t type, uint32_t chan, const char *json)
{
        struct nsp_hdr h = {(uint32_t)strlen(json), type, 0, chan};
        unsigned char hdr[NSP_HDR_SIZE];
        nsp_hdr_encode(&h, hdr);
        return write(fd, hdr, sizeof(hdr)) == (ssize_t)sizeof(hdr) &&
                       write(fd, json, h.len) == (ssize_t)h.len
                   ? 0
                   : -1;
}

/* Answers every request of one connection until it closes. */
static void serve_conn(int fd)
{
        struct nsp_reader r;
        nsp_reader_init(&r);
        for (;;) {
                struct nsp_hdr h;
                const unsigned char *p;
                int got;
                while ((got = nsp_reader_next(&r, &h, &p)) == 1) {
                        if (h.type != NSP_REQ)
                                continue;
                        json_t *req = json_loadb((const char *)p, h.len, 0, NULL);
                        const char *op = json_string_value(json_object_get(req, "op"));
                        int quiesce = op && strcmp(op, "quiesce") == 0;
                        json_decref(req);
                        send_frame(fd, NSP_RESP, h.chan,
                                   quiesce ? "{\"tcp_connections\":0}" : "{}");
                }
                unsigned char *space = got == 0 ? nsp_reader_space(&r, 4096) : NULL;
                ssize_t n = space ? read(fd, space, 4096) : -1;
                if (n <= 0)
                        break;
                nsp_reader_commit(&r, (size_t)n);
        }
        nsp_reader_fini(&r);
        close(fd);
}

/* The sandbox: listens on DIR/agent.sock, says HELLO on the first connection of a
 * fresh start (a restored agent does not), serves connections one at a time. */
static void sandbox_main(const char *dir, int hello)
{
        prctl(PR_SET_PDEATHSIG, SIGKILL); /* a test that dies leaves no sandbox behind */
        close_range(3, ~0u, 0); /* as an exec would: other machines' streams are not ours */
        if (fake_knobs.sandbox_dies)
                _exit(3);
        usleep(fake_knobs.listen_ms * 1000u);
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/fake.pid", dir);
        FILE *f = fopen(path, "w");
        if (!f)
                _exit(4);
        fprintf(f, "%d\n", (int)getpid());
        fclose(f);
        struct sockaddr_un a = {.sun_family = AF_UNIX};
        snprintf(a.sun_path, sizeof(a.sun_path), "%s/agent.sock", dir);
        int ls = socket(AF_UNIX, SOCK_STREAM, 0);
        unlink(a.sun_path);
        if (ls < 0 || bind(ls, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(ls, 4) < 0)
                _exit(5);
        for (;;) {
                int c = accept(ls, NULL, NULL);
                if (c < 0)
                        _exit(6);
                if (hello)
                        send_frame(c, NSP_HELLO, 0,
                                   "{\"version\":1,\"pid\":1,\"hostname\":\"fake\"}");
                hello = 0;
                serve_conn(c);
        }
}

static pid_t spawn_sandbox(const char *dir, int hello, struct err *e)
{
        pid_t pid = shim_fork_helper();
        if (pid == 0)
                sandbox_main(dir, hello);
        return pid < 0 ? err_set(e, errno, "fork sandbox") : pid;
}

/* Kills the sandbox of dir (the one DIR/fake.pid names) and removes its socket. */
static void kill_sandbox(const char *dir)
{
        char path[PATH_MAX], text[32];
        snprintf(path, sizeof(path), "%s/agent.sock", dir);
        unlink(path);
        snprintf(path, sizeof(path), "%s/fake.pid", dir);
        if (read_small(path, text, sizeof(text)) > 0 && atoi(text) > 0)
                kill(atoi(text), SIGKILL);
        unlink(path);
}

/* mkdir -p image, then the mark that it is whole. */
static int mark_image(const char *image)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s", image);
        for (char *s = path + 1; *s; s++)
                if (*s == '/') {
                        *s = '\0';
                        mkdir(path, 0700);
                        *s = '/';
                }
        if (mkdir(image, 0700) < 0 && errno != EEXIST)
                return -1;
        snprintf(path, sizeof(path), "%s/" DRIVER_IMAGE_DONE, image);
        int fd = open(path, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        return fd < 0 ? -1 : close(fd);
}

static int fake_probe(const struct driver_ctx *ctx, struct err *e)
{
        (void)ctx, (void)e;
        return 0;
}

static int fake_start(const struct driver_ctx *ctx, const struct machine_spec *spec,
                      struct machine_run *run, struct err *e)
{
        (void)ctx;
        fake_knobs.starts++;
        if (fake_knobs.fail_start)
                return err_say(e, EIO, "the fake runtime refuses to start %s", spec->id);
        char layer[PATH_MAX];
        snprintf(layer, sizeof(layer), "%s/upper", spec->dir);
        if (mkdir(spec->dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", spec->dir);
        if (mkdir(layer, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", layer);
        pid_t pid = spawn_sandbox(spec->dir, 1, e);
        if (pid < 0)
                return pid;
        *run = (struct machine_run){pid, -1, -1};
        return 0;
}

static pid_t fake_hibernate(const struct driver_ctx *ctx, const char *id, const char *dir,
                            const char *image, struct err *e)
{
        (void)ctx, (void)id;
        pid_t pid = shim_fork_helper();
        if (pid == 0) {
                shim_helper_gate(dir);
                usleep(fake_knobs.helper_ms * 1000u);
                if (fake_knobs.fail_hibernate)
                        _exit(1); /* the sandbox runs on, as gVisor's does */
                kill_sandbox(dir);
                char own[PATH_MAX];
                snprintf(own, sizeof(own), "%s/checkpoint", dir);
                _exit(mark_image(image) == 0 && mark_image(own) == 0 ? 0 : 1);
        }
        return pid < 0 ? err_set(e, errno, "fork checkpoint helper") : pid;
}

static int fake_restore(const struct driver_ctx *ctx, const struct machine_spec *spec,
                        const char *image, struct machine_run *run, pid_t *helper, struct err *e)
{
        (void)ctx;
        fake_knobs.restores++;
        char done[PATH_MAX], layer[PATH_MAX];
        snprintf(done, sizeof(done), "%s/" DRIVER_IMAGE_DONE, image);
        if (access(done, F_OK) < 0)
                return err_set(e, errno, "checkpoint %s", image);
        snprintf(layer, sizeof(layer), "%s/upper", spec->dir);
        if (mkdir(spec->dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", spec->dir);
        if (mkdir(layer, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", layer);
        pid_t pid = spawn_sandbox(spec->dir, 0, e);
        if (pid < 0)
                return pid;
        *run = (struct machine_run){pid, -1, -1};
        *helper = shim_fork_helper();
        if (*helper == 0) {
                usleep(fake_knobs.helper_ms * 1000u);
                _exit(fake_knobs.fail_restore ? 1 : 0);
        }
        return *helper < 0 ? err_set(e, errno, "fork restore helper") : 0;
}

static int fake_seal(const struct driver_ctx *ctx, const char *dir, const char *layer,
                     struct err *e)
{
        (void)ctx;
        char upper[PATH_MAX];
        snprintf(upper, sizeof(upper), "%s/upper", dir);
        if (rename(upper, layer) < 0 && errno != ENOENT)
                return err_set(e, errno, "rename %s", upper);
        if (mkdir(upper, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", upper);
        return 0;
}

static pid_t fake_destroy(const struct driver_ctx *ctx, const char *id, const char *dir,
                          const char *keep_layer, pid_t launcher, struct err *e)
{
        (void)id;
        pid_t pid = shim_fork_helper();
        if (pid == 0) {
                usleep(fake_knobs.helper_ms * 1000u);
                kill_sandbox(dir);
                if (launcher > 0)
                        kill(launcher, SIGKILL);
                struct err se = {0};
                int kept = !keep_layer || fake_seal(ctx, dir, keep_layer, &se) == 0;
                pid_t rm = fork();
                if (rm == 0) {
                        execl("/bin/rm", "rm", "-rf", dir, (char *)NULL);
                        _exit(127);
                }
                int status = 0;
                while (rm > 0 && waitpid(rm, &status, 0) < 0 && errno == EINTR)
                        ;
                _exit(kept ? 0 : 2);
        }
        return pid < 0 ? err_set(e, errno, "fork destroy helper") : pid;
}

static void fake_usage(const struct driver_ctx *ctx, const char *id, const char *dir,
                       struct machine_usage *u)
{
        (void)ctx, (void)id, (void)dir;
        *u = (struct machine_usage){1 << 20, 64 << 20, 1000};
}

const struct driver fake_driver = {
    .name = "gvisor", /* what records without a runtime name: it restores as one */
    .layer_file = "upper",
    .probe = fake_probe,
    .start = fake_start,
    .connect = shim_connect,
    .attach = shim_attach,
    .hibernate = fake_hibernate,
    .restore = fake_restore,
    .seal = fake_seal,
    .destroy = fake_destroy,
    .usage = fake_usage,
};
