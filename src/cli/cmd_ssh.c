/* SSH into machines with OpenSSH: `nullspace ssh ID [-- SSH-ARGS]` gets a short-lived
 * certificate for our key (made once with ssh-keygen in ~/.config/nullspace/ssh), then
 * runs ssh through `nullspace ssh-proxy %h`, which speaks the daemon's tunnel (an HTTP
 * upgrade on the API port, with the API key) on its stdin and stdout. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../common/util.h"
#include "cli.h"

#define PUMP_BUF (64u << 10)

/* ---- ssh-proxy ---- */

/* Writes all of p to fd. 0 or -1. */
static int write_all(int fd, const char *p, size_t n)
{
        while (n) {
                ssize_t w = write(fd, p, n);
                if (w < 0 && errno == EINTR)
                        continue;
                if (w <= 0)
                        return -1;
                p += w;
                n -= (size_t)w;
        }
        return 0;
}

/* Copies stdin to the socket and the socket to stdout until the socket ends. */
static int pump(int fd)
{
        static char buf[PUMP_BUF];
        int in_open = 1;
        for (;;) {
                struct pollfd p[2] = {{fd, POLLIN, 0}, {in_open ? STDIN_FILENO : -1, POLLIN, 0}};
                if (poll(p, 2, -1) < 0) {
                        if (errno == EINTR)
                                continue;
                        return 1;
                }
                if (p[1].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(STDIN_FILENO, buf, sizeof(buf));
                        if (n > 0 && write_all(fd, buf, (size_t)n) < 0)
                                return 0; /* the tunnel closed under us */
                        if (n == 0 || (n < 0 && errno != EINTR)) {
                                in_open = 0;
                                shutdown(fd, SHUT_WR);
                        }
                }
                if (p[0].revents & (POLLIN | POLLHUP | POLLERR)) {
                        ssize_t n = read(fd, buf, sizeof(buf));
                        if (n < 0 && errno == EINTR)
                                continue;
                        if (n <= 0 || write_all(STDOUT_FILENO, buf, (size_t)n) < 0)
                                return 0;
                }
        }
}

/* The daemon refused the tunnel: print its error (the JSON body) as every command does. */
static int refused(struct cli *c, int fd, char *head, size_t got, char *body)
{
        struct cli_resp r = {.status = atol(head + 9)};
        buf_init(&r.body, 1u << 16);
        const char *cl = strcasestr(head, "\r\nContent-Length:");
        size_t want = cl ? (size_t)atol(cl + 17) : 0, have = got - (size_t)(body - head);
        buf_append(&r.body, body, have < want ? have : want);
        char more[4096];
        while (r.body.len < want) {
                ssize_t n = read(fd, more, sizeof(more));
                if (n <= 0 || buf_append(&r.body, more, (size_t)n) < 0)
                        break;
        }
        r.doc = r.body.data ? json_loadb(r.body.data, r.body.len, 0, NULL) : NULL;
        int status = cli_fail_response(c, &r);
        cli_resp_free(&r);
        return status;
}

int cmd_ssh_proxy(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("ssh-proxy");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        char hostport[300], req[1024], head[8192];
        int fd = cli_dial(c, "ssh-proxy", hostport, sizeof(hostport));
        if (fd < 0)
                return ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
        int n = snprintf(req, sizeof(req),
                         "GET /v1/machines/%s/ssh/tunnel HTTP/1.1\r\nHost: %s\r\n"
                         "Authorization: Bearer %s\r\nConnection: Upgrade\r\n"
                         "Upgrade: nullspace-ssh\r\n\r\n",
                         id, hostport, c->api_key);
        size_t got = 0;
        char *body = n > 0 && n < (int)sizeof(req) && write_all(fd, req, (size_t)n) == 0
                         ? cli_read_head(fd, head, sizeof(head), &got)
                         : NULL;
        if (!body) {
                fprintf(stderr, "error: connection_failed: no answer from %s\n", c->api_url);
                close(fd);
                return ns_code_def(NS_E_CONNECTION_FAILED)->exit_code;
        }
        if (strncmp(head, "HTTP/1.1 101", 12) != 0) {
                int status = refused(c, fd, head, got, body);
                close(fd);
                return status;
        }
        size_t extra = got - (size_t)(body - head);
        if (extra && write_all(STDOUT_FILENO, body, extra) < 0)
                return 1;
        r = pump(fd);
        close(fd);
        return r;
}

/* ---- ssh ---- */

/* DIR of our SSH files (~/.config/nullspace/ssh), made 0700. */
static void ssh_dir(char *out, size_t cap)
{
        char cfg[1024];
        cli_config_default_path(cfg, sizeof(cfg));
        char *slash = strrchr(cfg, '/');
        if (slash)
                *slash = '\0';
        snprintf(out, cap, "%s/ssh", cfg);
        mkdir_p(out, 0700);
}

/* Runs argv and waits; its exit status (127: could not run). */
static int run(char *const argv[])
{
        pid_t pid = fork();
        if (pid == 0) {
                execvp(argv[0], argv);
                _exit(127);
        }
        int st = 0;
        while (pid > 0 && waitpid(pid, &st, 0) < 0 && errno == EINTR)
                ;
        return pid > 0 && WIFEXITED(st) ? WEXITSTATUS(st) : 127;
}

/* The public key line of the key at path (path.pub), made with ssh-keygen first when
 * `make` and there is none. malloc'd, or NULL after printing why. */
static char *public_key(const char *path, int make)
{
        char pub[1300];
        snprintf(pub, sizeof(pub), "%s.pub", path);
        if (make && access(path, F_OK) != 0) {
                char *const argv[] = {"ssh-keygen", "-q",        "-t", "ed25519",    "-N", "",
                                      "-C",         "nullspace", "-f", (char *)path, NULL};
                if (run(argv) != 0) {
                        fprintf(stderr, "error: could not make a key with ssh-keygen (is "
                                        "OpenSSH's client installed?)\n");
                        return NULL;
                }
        }
        FILE *f = fopen(pub, "r");
        char *line = NULL;
        size_t cap = 0;
        if (!f || getline(&line, &cap, f) < 0) {
                fprintf(stderr, "error: cannot read the public key %s: %s\n", pub,
                        strerror(errno ? errno : EIO));
                free(line);
                line = NULL;
        }
        if (f)
                fclose(f);
        return line;
}

static int write_private(const char *path, const char *text)
{
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        int ok = fd >= 0 && write_all(fd, text, strlen(text)) == 0 && write_all(fd, "\n", 1) == 0;
        if (fd >= 0)
                close(fd);
        if (!ok)
                fprintf(stderr, "error: cannot write %s: %s\n", path, strerror(errno));
        return ok ? 0 : -1;
}

/* Prints argv as one shell-quoted line. */
static void print_command(char *const argv[])
{
        for (int i = 0; argv[i]; i++) {
                const char *a = argv[i];
                int plain = *a && strspn(a, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                            "0123456789-_./=:@%+,") == strlen(a);
                if (plain) {
                        printf("%s%s", i ? " " : "", a);
                        continue;
                }
                printf("%s'", i ? " " : "");
                for (; *a; a++)
                        fputs(*a == '\'' ? "'\\''" : (char[]){*a, 0}, stdout);
                putchar('\'');
        }
        putchar('\n');
}

int cmd_ssh(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("ssh");
        const char *v[4] = {0}; /* --user --identity --ttl-s --print */
        int npos, r = cli_parse_flags(cmd, argc, argv, v, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        char dir[1100], key[1200], cert[1300], known[1200], proxy[4200], self[4096];
        ssh_dir(dir, sizeof(dir));
        snprintf(key, sizeof(key), "%s", v[1] ? v[1] : "");
        if (!v[1])
                snprintf(key, sizeof(key), "%s/id_ed25519", dir);
        char *line = public_key(key, !v[1]);
        if (!line)
                return 1;
        line[strcspn(line, "\r\n")] = '\0';
        json_t *body = json_pack("{s:s}", "public_key", line);
        free(line);
        if (v[0])
                json_object_set_new(body, "user", json_string(v[0]));
        if ((r = cli_set_int(cmd, body, "ttl_s", "--ttl-s", v[2]))) {
                json_decref(body);
                return r;
        }
        char path[300];
        snprintf(path, sizeof(path), "/v1/machines/%s/ssh", id);
        struct cli_resp resp;
        r = cli_request(c, "POST", path, body, 1, &resp);
        json_decref(body);
        if (r)
                return r;
        if (resp.status / 100 != 2 || !resp.doc) {
                r = cli_fail_response(c, &resp);
                cli_resp_free(&resp);
                return r;
        }
        const char *user = json_string_value(json_object_get(resp.doc, "user"));
        snprintf(cert, sizeof(cert), "%s-%s-cert.pub", key, id);
        snprintf(known, sizeof(known), "%s/known_hosts", dir);
        if (write_private(cert, json_string_value(json_object_get(resp.doc, "certificate"))) ||
            write_private(known, json_string_value(json_object_get(resp.doc, "known_hosts")))) {
                cli_resp_free(&resp);
                return 1;
        }
        ssize_t sl = readlink("/proc/self/exe", self, sizeof(self) - 1);
        self[sl > 0 ? sl : 0] = '\0';
        snprintf(proxy, sizeof(proxy), "ProxyCommand='%s' ssh-proxy %%h",
                 sl > 0 ? self : "nullspace");
        char o_cert[1400], o_known[1300], dest[200];
        snprintf(o_cert, sizeof(o_cert), "CertificateFile=%s", cert);
        snprintf(o_known, sizeof(o_known), "UserKnownHostsFile=%s", known);
        snprintf(dest, sizeof(dest), "%s@%s", user ? user : "root", id);
        cli_resp_free(&resp);
        /* the proxy reads the daemon's address and key from the environment ssh gives it */
        setenv("NULLSPACE_API_URL", c->api_url, 1);
        setenv("NULLSPACE_API_KEY", c->api_key, 1);
        char *args[64 + 32] = {"ssh",
                               "-i",
                               key,
                               "-o",
                               o_cert,
                               "-o",
                               "IdentitiesOnly=yes",
                               "-o",
                               o_known,
                               "-o",
                               "GlobalKnownHostsFile=/dev/null",
                               "-o",
                               "StrictHostKeyChecking=yes",
                               "-o",
                               proxy,
                               dest};
        int n = 16;
        for (int i = 1; i < npos && n < 64 + 31; i++)
                args[n++] = argv[i];
        args[n] = NULL;
        if (v[3]) {
                print_command(args);
                return 0;
        }
        fflush(NULL);
        execvp("ssh", args);
        fprintf(stderr, "error: cannot run ssh: %s (install OpenSSH's client)\n", strerror(errno));
        return 1;
}

/* ---- machines connect ---- */

/* Listening TCP ports from /proc/net/tcp{,6} text: each port once, flagged loopback when
 * only a loopback address listens on it. */
static json_t *listening_ports(const char *text)
{
        json_t *ports = json_object();
        for (const char *l = text; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
                char local[80];
                unsigned port, st;
                if (sscanf(l, " %*d: %79[0-9A-Fa-f]:%x %*[0-9A-Fa-f]:%*x %x", local, &port, &st) !=
                        3 ||
                    st != 0x0A)
                        continue;
                int loop = !strcmp(local, "0100007F") ||
                           !strcmp(local, "00000000000000000000000001000000");
                char key[16];
                snprintf(key, sizeof(key), "%u", port);
                json_t *had = json_object_get(ports, key);
                if (!had || (json_is_true(had) && !loop))
                        json_object_set_new(ports, key, json_boolean(loop));
        }
        return ports;
}

int cmd_machines_connect(struct cli *c, int argc, char **argv)
{
        const struct cli_cmd *cmd = cli_find("machines connect");
        int npos, r = cli_parse_flags(cmd, argc, argv, NULL, NULL, &npos);
        const char *id = r ? NULL : cli_machine_id(cmd, npos, argv, &r);
        if (!id)
                return r;
        char path[300];
        snprintf(path, sizeof(path), "/v1/machines/%s", id);
        struct cli_resp m;
        if ((r = cli_request(c, "GET", path, NULL, 1, &m)))
                return r;
        if (m.status != 200 || !m.doc) {
                r = cli_fail_response(c, &m);
                cli_resp_free(&m);
                return r;
        }
        const char *state = json_string_value(json_object_get(m.doc, "state"));
        char shell[200], ssh[200];
        snprintf(shell, sizeof(shell), "nullspace shell %s", id);
        snprintf(ssh, sizeof(ssh), "nullspace ssh %s", id);
        json_t *out =
            json_pack("{s:s,s:s?,s:O?,s:s,s:s,s:s,s:o}", "id", id, "state", state, "network",
                      json_object_get(m.doc, "network"), "shell", shell, "ssh", ssh,
                      "ssh_proxy_command", "nullspace ssh-proxy %h", "ports", json_array());
        cli_resp_free(&m);
        state = json_string_value(json_object_get(out, "state")); /* m's copy is gone */
        struct cli_resp e = {0};
        snprintf(path, sizeof(path), "/v1/machines/%s/exec", id);
        json_t *body = json_pack("{s:s}", "cmd", "cat /proc/net/tcp /proc/net/tcp6 2>/dev/null");
        int ran = state && !strcmp(state, "running") &&
                  cli_request(c, "POST", path, body, 1, &e) == 0 && e.status == 200 && e.doc;
        json_decref(body);
        json_t *ports =
            listening_ports(ran ? json_string_value(json_object_get(e.doc, "stdout")) : "");
        cli_resp_free(&e);
        const char *k;
        json_t *loop;
        json_object_foreach(ports, k, loop)
        {
                json_t *p =
                    json_pack("{s:i,s:b}", "port", atoi(k), "loopback_only", json_is_true(loop));
                struct cli_resp pr = {0};
                json_t *pb = json_pack("{s:i}", "port", atoi(k));
                snprintf(path, sizeof(path), "/v1/machines/%s/previews", id);
                if (!json_is_true(loop) && atoi(k) != 22 && json_object_get(out, "network") &&
                    cli_request(c, "POST", path, pb, 1, &pr) == 0 && pr.status == 201 && pr.doc)
                        json_object_set(p, "preview_url", json_object_get(pr.doc, "url"));
                json_decref(pb);
                cli_resp_free(&pr);
                json_array_append_new(json_object_get(out, "ports"), p);
        }
        json_decref(ports);
        if (c->json) {
                cli_print_json(out);
        } else {
                const char *addr =
                    json_string_value(json_object_get(json_object_get(out, "network"), "address"));
                printf("machine %s (%s)%s%s\n", id, state ? state : "?", addr ? " at " : "",
                       addr ? addr : "");
                printf("  shell:  nullspace shell %s\n  ssh:    nullspace ssh %s\n"
                       "          ssh -o ProxyCommand='nullspace ssh-proxy %%h' root@%s  "
                       "(after nullspace ssh once: it makes the key and certificate)\n"
                       "  exec:   nullspace machines exec %s -- CMD\n",
                       id, id, id, id);
                size_t i;
                json_t *p;
                json_array_foreach(json_object_get(out, "ports"), i, p)
                {
                        const char *u = json_string_value(json_object_get(p, "preview_url"));
                        int port = (int)json_integer_value(json_object_get(p, "port"));
                        printf("  port %d: %s\n", port,
                               u            ? u
                               : port == 22 ? "sshd (use nullspace ssh)"
                               : json_is_true(json_object_get(p, "loopback_only"))
                                   ? "loopback only: no preview"
                                   : "no preview (no network)");
                }
        }
        json_decref(out);
        return 0;
}
