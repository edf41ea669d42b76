/* SSH certificate authorities and sshd in machines (see ssh.h). */
#include "ssh.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/buf.h"
#include "../common/log.h"
#include "../common/secret.h"
#include "../common/util.h"
#include "core.h"
#include "machine.h"
#include "machine_cmd.h"

#define EXIT_NO_SSHD 100 /* the setup script: this machine has no /usr/sbin/sshd */

/* Fetches Debian's openssh-server (and libwrap0, the one library of sshd's that the base
 * lacks) with a private package index, without touching the host's apt state, and
 * keeps sshd as a tar to unpack into machines. */
static const char fetch_script[] =
    "set -e\n"
    "cd \"$1\"\n"
    "exec 9>fetch.lock\n"
    "flock 9\n"
    "[ -e openssh-server.tar ] && exit 0\n"
    "rm -rf tmp\n"
    "mkdir -p tmp/lists/partial tmp/cache/archives/partial tmp/debs tmp/root\n"
    "t=$PWD/tmp\n"
    "apt() { apt-get -q -o Dir::State::Lists=$t/lists -o Dir::Cache=$t/cache "
    "-o APT::Sandbox::User=root -o Debug::NoLocking=1 \"$@\"; }\n"
    "echo 'fetching the package index'\n"
    "apt update >/dev/null\n"
    "echo 'downloading openssh-server'\n"
    "(cd tmp/debs && apt download openssh-server libwrap0)\n"
    "echo 'unpacking'\n"
    "for d in tmp/debs/*.deb; do dpkg-deb -x \"$d\" tmp/root; done\n"
    "(cd tmp/root && tar -cf ../out.tar usr/sbin/sshd usr/lib/*/libwrap.so.0*)\n"
    "mv tmp/out.tar openssh-server.tar\n"
    "rm -rf tmp\n"
    "echo done\n";

static const struct prep_stage fetch_lines[] = {
    {"fetching the package index", 1, 0, 0},
    {"downloading openssh-server", 2, 0, 0},
    {"unpacking", 3, 0, 0},
};
static const char *const fetch_stages[] = {"starting", "fetching the package index",
                                           "downloading openssh-server", "unpacking"};
static const struct prep_desc fetch_desc = {
    .name = "ssh_server",
    .label = "fetching openssh-server",
    .lines = fetch_lines,
    .nlines = sizeof(fetch_lines) / sizeof(fetch_lines[0]),
    .stage_names = fetch_stages,
    .steps = 3,
    .limit_s = 600,
};

/* Run in the machine as root: unpacks the package from stdin when asked, writes the
 * configuration, keys and certificate (each file replaced whole), makes the privilege
 * separation user, and starts sshd unless it runs already. A running sshd reads the
 * host key, its certificate and the principals file again for every connection, so a
 * forked machine's new identity needs no restart. */
static const char setup_script[] =
    "set -e\n"
    "[ \"$NS_SSH_INSTALL\" != 1 ] || tar -x -C / -f -\n"
    "[ -x /usr/sbin/sshd ] || exit 100\n"
    "d=/etc/ssh/nullspace\n"
    "mkdir -p $d /run/sshd\n"
    "chmod 755 /etc/ssh $d /run/sshd\n"
    "put() { umask $1; printf '%s\\n' \"$3\" > $d/$2.new; mv -f $d/$2.new $d/$2; }\n"
    "put 077 host_key \"$NS_SSH_HOST_KEY\"\n"
    "put 022 host_key-cert.pub \"$NS_SSH_HOST_CERT\"\n"
    "put 022 user_ca.pub \"$NS_SSH_USER_CA\"\n"
    "put 022 machine \"$NS_SSH_MACHINE\"\n"
    "put 022 principals '#!/bin/sh\n"
    "read -r id < /etc/ssh/nullspace/machine && printf \"%s:%s\\n\" \"$id\" \"$1\"'\n"
    "chmod 755 $d/principals\n"
    "pu=nobody; id nobody >/dev/null 2>&1 || pu=root\n"
    "put 022 sshd_config \"Port 22\n"
    "HostKey $d/host_key\n"
    "HostCertificate $d/host_key-cert.pub\n"
    "TrustedUserCAKeys $d/user_ca.pub\n"
    "AuthorizedPrincipalsCommand $d/principals %u\n"
    "AuthorizedPrincipalsCommandUser $pu\n"
    "AuthorizedKeysFile none\n"
    "PubkeyAuthentication yes\n"
    "PasswordAuthentication no\n"
    "KbdInteractiveAuthentication no\n"
    "HostbasedAuthentication no\n"
    "PermitRootLogin prohibit-password\n"
    "UsePAM no\n"
    "AllowAgentForwarding yes\n"
    "AllowTcpForwarding yes\n"
    "X11Forwarding no\n"
    "PrintMotd no\n"
    "Subsystem sftp internal-sftp\n"
    "PidFile /run/nullspace-sshd.pid\"\n"
    "id sshd >/dev/null 2>&1 || useradd -r -M -d /run/sshd -s /usr/sbin/nologin sshd "
    "2>/dev/null || echo 'sshd:x:105:65534::/run/sshd:/usr/sbin/nologin' >> /etc/passwd\n"
    "pid=$(cat /run/nullspace-sshd.pid 2>/dev/null || true)\n"
    "if [ -n \"$pid\" ] && [ \"$(cat /proc/$pid/comm 2>/dev/null)\" = sshd ]; then exit 0; fi\n"
    /* not exec'd: with init as its parent sshd takes itself for daemonized already and
     * stays in the foreground */
    "/usr/sbin/sshd -f $d/sshd_config -E /var/log/nullspace-sshd.log\n";

struct ssh_waiter {
        ssh_ready_cb cb;
        void *ud;
        struct ssh_waiter *next;
};

struct ssh_setup {
        struct core *core;
        char id[40];
        int installing; /* the second run, with the package on stdin */
        struct machine_cmd *cmd;
        struct prep_waiter pw; /* waiting for the package */
        int waiting_pkg;
        char out[512]; /* the last of its output, for errors */
        size_t out_len;
        struct ssh_waiter *waiters;
        struct ssh_setup *next;
};

/* ---- the authorities ---- */

static int load_ca(struct core *core, const char *name, unsigned char seed[32], char **line,
                   struct err *e)
{
        char path[PATH_MAX + 64];
        snprintf(path, sizeof(path), "%s/ssh/%s", core->state_dir, name);
        unsigned char pub[32];
        char comment[64];
        snprintf(comment, sizeof(comment), "nullspace-%s", name);
        int r = secret_load(path, seed, 32, e);
        if (r < 0)
                return r;
        if (ssh_ed25519_public(seed, pub) < 0 || !(*line = ssh_ed25519_line(pub, comment)))
                return err_set(e, ENOMEM, "%s", path);
        /* the public half beside it, for admins who trust the CA in their own configs */
        char pubpath[PATH_MAX + 72], text[256];
        snprintf(pubpath, sizeof(pubpath), "%s.pub", path);
        int n = snprintf(text, sizeof(text), "%s\n", *line);
        return write_file_atomic(pubpath, text, (size_t)n, 0644, e);
}

int core_ssh_init(struct core *core, struct err *e)
{
        struct core_ssh *s = &core->ssh;
        char dir[PATH_MAX + 16];
        snprintf(dir, sizeof(dir), "%s/ssh", core->state_dir);
        if (mkdir(dir, 0700) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", dir);
        int r = load_ca(core, "user_ca", s->user_ca, &s->user_ca_line, e);
        if (r == 0)
                r = load_ca(core, "host_ca", s->host_ca, &s->host_ca_line, e);
        if (r < 0)
                return r;
        snprintf(dir, sizeof(dir), "%s/ssh", core->cache_dir);
        if (mkdir(dir, 0755) < 0 && errno != EEXIST)
                return err_set(e, errno, "mkdir %s", dir);
        snprintf(s->server_tar, sizeof(s->server_tar), "%s/openssh-server.tar", dir);
        const char *argv[] = {"/bin/sh", "-c", fetch_script, "nullspace-fetch-sshd", dir, NULL};
        if (prep_init(&s->server, &fetch_desc, &core->loop, &core->children, argv,
                      access(s->server_tar, R_OK) == 0) < 0)
                return err_set(e, ENOMEM, "ssh");
        return 0;
}

void core_ssh_fini(struct core *core)
{
        struct core_ssh *s = &core->ssh;
        OPENSSL_cleanse(s->user_ca, sizeof(s->user_ca));
        OPENSSL_cleanse(s->host_ca, sizeof(s->host_ca));
        free(s->user_ca_line);
        free(s->host_ca_line);
        s->user_ca_line = s->host_ca_line = NULL;
        prep_fini(&s->server);
}

void core_ssh_warm(struct core *core)
{
        prep_start(&core->ssh.server);
}

int ssh_user_ok(const char *user)
{
        size_t n = strlen(user);
        return n >= 1 && n <= SSH_USER_MAX && user[0] != '-' && user[0] != '.' &&
               strspn(user, "abcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

json_t *core_ssh_certify(struct core *core, const struct machine *m, const struct ssh_pubkey *k,
                         const char *user, unsigned ttl_s, int agent_forwarding, struct err *e)
{
        char principal[MACHINE_ID_MAX + SSH_USER_MAX + 2], key_id[160], fp[SSH_FP_LEN];
        uint64_t serial;
        if (rand_bytes(&serial, sizeof(serial)) < 0)
                return err_set(e, EIO, "random serial"), NULL;
        serial &= INT64_MAX; /* JSON numbers clients parse as signed 64-bit integers */
        snprintf(principal, sizeof(principal), "%s:%s", m->id, user);
        snprintf(key_id, sizeof(key_id), "nullspace:%s:%s", m->id, user);
        const char *principals[] = {principal};
        uint64_t now = (uint64_t)(time_wall_ms() / 1000);
        struct ssh_cert_req r = {
            .key = k,
            .serial = serial,
            .key_id = key_id,
            .principals = principals,
            .nprincipals = 1,
            .valid_after = now - 60, /* a client clock a little behind still works */
            .valid_before = now + ttl_s,
            .extensions = SSH_EXT_PTY | SSH_EXT_PORT_FORWARDING |
                          (agent_forwarding ? SSH_EXT_AGENT_FORWARDING : 0u),
        };
        char *cert = ssh_cert_sign(&r, core->ssh.user_ca, key_id);
        if (!cert)
                return err_set(e, EIO, "signing the certificate failed"), NULL;
        ssh_fingerprint(k->blob, k->len, fp);
        char known[300];
        snprintf(known, sizeof(known), "@cert-authority m_* %s", core->ssh.host_ca_line);
        json_t *o =
            json_pack("{s:s,s:s,s:s,s:s,s:s,s:I,s:s,s:I,s:I,s:s,s:s,s:s}", "machine_id", m->id,
                      "user", user, "certificate", cert, "principal", principal, "key_id", key_id,
                      "serial", (json_int_t)serial, "fingerprint", fp, "valid_after",
                      (json_int_t)r.valid_after * 1000, "expires_at",
                      (json_int_t)r.valid_before * 1000, "known_hosts", known, "host_ca_public_key",
                      core->ssh.host_ca_line, "user_ca_public_key", core->ssh.user_ca_line);
        free(cert);
        if (!o)
                err_set(e, ENOMEM, "certificate");
        return o;
}

/* ---- sshd in a machine ---- */

static void setup_run(struct ssh_setup *s, struct machine *m);

static struct ssh_setup *setup_of(struct core *core, const char *id)
{
        for (struct ssh_setup *s = core->ssh.setups; s; s = s->next)
                if (!strcmp(s->id, id))
                        return s;
        return NULL;
}

/* Tells every waiter and frees s. */
static void setup_end(struct ssh_setup *s, enum ns_code code, const char *msg)
{
        struct ssh_setup **pp = &s->core->ssh.setups;
        while (*pp != s)
                pp = &(*pp)->next;
        *pp = s->next;
        if (s->waiting_pkg)
                prep_cancel(&s->core->ssh.server, &s->pw);
        struct machine *m = machine_find(s->core, s->id);
        if (m && code == NS_OK)
                m->ssh_ready = 1;
        if (code != NS_OK)
                log_warn("ssh_setup_failed", "machine=%s error=\"%s\"", s->id, msg);
        for (struct ssh_waiter *w = s->waiters, *next; w; w = next) {
                next = w->next;
                w->cb(w->ud, code, msg);
                free(w);
        }
        free(s);
}

static void on_output(void *ud, int stream, const char *p, size_t n)
{
        (void)stream;
        struct ssh_setup *s = ud;
        if (n >= sizeof(s->out)) { /* keep the tail */
                p += n - (sizeof(s->out) - 1);
                n = sizeof(s->out) - 1;
        }
        if (s->out_len + n >= sizeof(s->out)) {
                size_t drop = s->out_len + n - (sizeof(s->out) - 1);
                memmove(s->out, s->out + drop, s->out_len - drop);
                s->out_len -= drop;
        }
        memcpy(s->out + s->out_len, p, n);
        s->out_len += n;
        s->out[s->out_len] = '\0';
}

static void on_package(struct prep_waiter *w, const char *error)
{
        struct ssh_setup *s = (struct ssh_setup *)((char *)w - offsetof(struct ssh_setup, pw));
        s->waiting_pkg = 0;
        struct machine *m = machine_find(s->core, s->id);
        char msg[400];
        if (error) {
                snprintf(msg, sizeof(msg),
                         "machine %s has no sshd and openssh-server could not be fetched: %s",
                         s->id, error);
                setup_end(s, NS_E_SSH_UNAVAILABLE, msg);
        } else if (!m || m->state != M_RUNNING) {
                snprintf(msg, sizeof(msg), "machine %s stopped running", s->id);
                setup_end(s, NS_E_MACHINE_NOT_RUNNING, msg);
        } else {
                s->installing = 1;
                setup_run(s, m);
        }
}

static void on_done(void *ud, int exit_code, const char *error)
{
        struct ssh_setup *s = ud;
        s->cmd = NULL;
        char msg[700];
        while (s->out_len && strchr("\r\n ", s->out[s->out_len - 1]))
                s->out[--s->out_len] = '\0';
        if (exit_code == 0) {
                setup_end(s, NS_OK, NULL);
        } else if (exit_code == EXIT_NO_SSHD && !s->installing) {
                s->waiting_pkg = 1;
                s->pw.done = on_package;
                prep_need(&s->core->ssh.server, &s->pw);
        } else if (exit_code < 0) {
                snprintf(msg, sizeof(msg), "machine %s: %s", s->id, error ? error : "gone");
                setup_end(s, NS_E_MACHINE_NOT_RUNNING, msg);
        } else {
                snprintf(msg, sizeof(msg), "sshd could not start in machine %s (exit %d): %s",
                         s->id, exit_code, s->out_len ? s->out : "no output");
                setup_end(s, NS_E_SSH_UNAVAILABLE, msg);
        }
}

static const struct machine_cmd_ops setup_ops = {on_output, on_done};

/* The machine's host key: derived from the host CA and its ID, so setting it up again
 * gives the same key, and a fork (a new ID) its own. */
static int host_seed(const struct core *core, const char *id, unsigned char seed[32])
{
        char msg[96];
        int n = snprintf(msg, sizeof(msg), "nullspace ssh host key\n%s", id);
        unsigned len = 0;
        return HMAC(EVP_sha256(), core->ssh.host_ca, 32, (const unsigned char *)msg, (size_t)n,
                    seed, &len) &&
                       len == 32
                   ? 0
                   : -1;
}

/* The environment of the setup script: the machine's host key and certificate. */
static json_t *setup_env(struct ssh_setup *s, char **secret)
{
        struct core *core = s->core;
        unsigned char seed[32], pub[32];
        char *publine = NULL, *cert = NULL;
        struct ssh_pubkey k = {0};
        char why[80];
        const char *principals[] = {s->id};
        *secret = NULL;
        if (host_seed(core, s->id, seed) == 0 && ssh_ed25519_public(seed, pub) == 0 &&
            (publine = ssh_ed25519_line(pub, NULL)) &&
            ssh_pubkey_parse(publine, &k, why, sizeof(why)) == 0) {
                struct ssh_cert_req r = {.key = &k,
                                         .host = 1,
                                         .key_id = s->id,
                                         .principals = principals,
                                         .nprincipals = 1,
                                         .valid_after = 0,
                                         .valid_before = UINT64_MAX};
                cert = ssh_cert_sign(&r, core->ssh.host_ca, s->id);
                *secret = ssh_ed25519_private_file(seed, s->id);
        }
        OPENSSL_cleanse(seed, sizeof(seed));
        ssh_pubkey_free(&k);
        free(publine);
        json_t *env = NULL;
        if (cert && *secret)
                env = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "PATH",
                                "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                                "NS_SSH_MACHINE", s->id, "NS_SSH_HOST_KEY", *secret,
                                "NS_SSH_HOST_CERT", cert, "NS_SSH_USER_CA", core->ssh.user_ca_line,
                                "NS_SSH_INSTALL", s->installing ? "1" : "0");
        free(cert);
        return env;
}

static void setup_run(struct ssh_setup *s, struct machine *m)
{
        char *secret;
        json_t *env = setup_env(s, &secret);
        int fd = -1;
        if (env && s->installing && (fd = open(s->core->ssh.server_tar, O_RDONLY | O_CLOEXEC)) < 0)
                log_warn("ssh_package", "open %s: %s", s->core->ssh.server_tar, strerror(errno));
        json_t *req = env && (!s->installing || fd >= 0)
                          ? json_pack("{s:s,s:[s,s,s,s],s:o,s:s,s:s,s:i}", "op", "exec", "argv",
                                      "/bin/sh", "-c", setup_script, "nullspace-ssh-setup", "env",
                                      env, "user", "root", "cwd", "/", "timeout_ms", 60000)
                          : NULL;
        if (!req)
                json_decref(env);
        s->out_len = 0;
        s->cmd = req ? machine_cmd_start(m, req, fd, &setup_ops, s) : NULL;
        if (!req && fd >= 0)
                close(fd);
        json_decref(req);
        if (secret) {
                OPENSSL_cleanse(secret, strlen(secret));
                free(secret);
        }
        if (!s->cmd) {
                char msg[160];
                snprintf(msg, sizeof(msg), "machine %s cannot run the sshd setup now", s->id);
                setup_end(s, NS_E_SSH_UNAVAILABLE, msg);
        }
}

int machine_ssh_prepare(struct machine *m, int force, ssh_ready_cb cb, void *ud)
{
        struct core *core = m->core;
        if (m->ssh_ready && !force)
                return 1;
        struct ssh_waiter *w = calloc(1, sizeof(*w));
        struct ssh_setup *s = setup_of(core, m->id);
        int fresh = !s;
        if (fresh)
                s = calloc(1, sizeof(*s));
        if (!w || !s) {
                free(w);
                if (fresh)
                        free(s);
                cb(ud, NS_E_INTERNAL, "out of memory");
                return 0;
        }
        *w = (struct ssh_waiter){cb, ud, s->waiters};
        s->waiters = w;
        if (!fresh)
                return 0;
        m->ssh_ready = 0;
        s->core = core;
        snprintf(s->id, sizeof(s->id), "%s", m->id);
        s->next = core->ssh.setups;
        core->ssh.setups = s;
        setup_run(s, m);
        return 0;
}
