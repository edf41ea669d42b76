/* The machine lifecycle of the core on a fake runtime (fake_driver.h): no root, no
 * runsc. Every transition allowed and refused, concurrent waiters, destroy in the
 * middle of create / resume / fork, failed checkpoints and restores, and recovery
 * after a restart from each persisted state. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../src/common/log.h"
#include "../../src/core/core.h"
#include "../../src/core/machine.h"
#include "../../src/core/machine_internal.h"
#include "../../src/core/vm_guest.h"
#include "fake_driver.h"
#include "tap.h"

static struct core core;
static struct loop_io sig_io;
static char root[] = "/tmp/ns-test-lifecycle-XXXXXX";

/* ---- the fixture --------------------------------------------------------------------- */

static void on_signal(struct loop_io *io, uint32_t events)
{
        (void)io, (void)events;
        struct signalfd_siginfo si;
        while (read(sig_io.fd, &si, sizeof(si)) == (ssize_t)sizeof(si))
                ;
        children_reap(&core.children);
}

static void mkdirs(const char *sub)
{
        char path[PATH_MAX];
        snprintf(path, sizeof(path), "%s/%s", root, sub);
        mkdir(path, 0700);
}

/* A core as the daemon sets one up, with the fake runtime and a base that is built. */
static int core_up(void)
{
        struct err e = {0};
        snprintf(core.state_dir, sizeof(core.state_dir), "%s/state", root);
        snprintf(core.cache_dir, sizeof(core.cache_dir), "%s/cache", root);
        snprintf(core.lib_dir, sizeof(core.lib_dir), "%s", root);
        const char *dirs[] = {"state",
                              "cache",
                              "cache/templates",
                              "cache/templates/base",
                              "cache/templates/base/rootfs",
                              "cache/templates/base/ready"};
        for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++)
                mkdirs(dirs[i]);
        char db[PATH_MAX + 16];
        snprintf(db, sizeof(db), "%s/nullspace.db", core.state_dir);
        core.driver = core.drivers[0] = &fake_driver;
        core.ndrivers = 1;
        if (loop_init(&core.loop, &e) < 0 || store_open(&core.store, db, &e) < 0 ||
            core_init(&core, &e) < 0) {
                printf("# setup: %s\n", e.msg);
                return -1;
        }
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGCHLD);
        sigprocmask(SIG_BLOCK, &set, NULL);
        sig_io.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
        sig_io.cb = on_signal;
        if (loop_io_add(&core.loop, &sig_io, EPOLLIN, &e) < 0)
                return -1;
        machines_recover(&core);
        return 0;
}

/* A daemon restart: let go of every machine (their sandboxes run on), adopt again. */
static void core_restart(void)
{
        machines_detach(&core);
        machines_recover(&core);
}

/* ---- running the loop until callbacks arrive ----------------------------------------- */

static int pending; /* callbacks still awaited */
static int timed_out;
static struct loop_timer guard;

static void on_guard(struct loop_timer *t)
{
        (void)t;
        timed_out = 1;
        loop_stop(&core.loop);
}

/* Runs the loop until `pending` reaches 0. A hang guard (not a timing assertion): the
 * fake runtime answers in milliseconds, 20 s means a callback never came. */
static int settle(const char *what)
{
        timed_out = 0;
        if (pending > 0) {
                core.loop.stop = 0; /* loop_run returns at once after a loop_stop */
                loop_timer_arm(&core.loop, &guard, 20000, on_guard);
                loop_run(&core.loop);
                loop_timer_cancel(&core.loop, &guard);
        }
        ok(!timed_out, "%s: every callback came", what);
        return timed_out ? -1 : 0;
}

struct outcome {
        int calls;
        enum ns_code code;
        char error[256];
};

static void done(void *ud, struct machine *m, enum ns_code code, const char *error)
{
        (void)m;
        struct outcome *o = ud;
        o->calls++;
        o->code = code;
        snprintf(o->error, sizeof(o->error), "%s", error ? error : "");
        if (--pending == 0)
                loop_stop(&core.loop);
}

struct capture_outcome {
        int calls;
        enum ns_code code;
        json_t *children;
};

static void captured(void *ud, enum ns_code code, const char *error, json_t *children,
                     const char *snapshot_id, int64_t pause_ms)
{
        (void)error, (void)snapshot_id, (void)pause_ms;
        struct capture_outcome *o = ud;
        o->calls++;
        o->code = code;
        o->children = children ? json_deep_copy(children) : NULL;
        if (--pending == 0)
                loop_stop(&core.loop);
}

static struct loop_timer tick;

static void on_tick(struct loop_timer *t)
{
        (void)t;
        if (!core.children.list)
                loop_stop(&core.loop);
        else
                loop_timer_arm(&core.loop, &tick, 5, on_tick);
}

/* Waits for every helper the core started (teardowns in the background). */
static void drain(void)
{
        pending = 1;
        loop_timer_arm(&core.loop, &tick, 0, on_tick);
        settle("every helper process ended");
        loop_timer_cancel(&core.loop, &tick);
        pending = 0;
}

/* ---- helpers ------------------------------------------------------------------------- */

static const char *stored_state(const char *id)
{
        static char state[32];
        struct machine_rec r;
        struct err e = {0};
        if (store_machine_get(core.store, id, &r, &e) < 0)
                return "(none)";
        snprintf(state, sizeof(state), "%s", r.state);
        store_machine_rec_free(&r);
        return state;
}

static struct machine *create(const char *what)
{
        struct machine_params p = {.template_name = "base", .vcpus = 1, .memory_mb = 256};
        struct outcome o = {0};
        struct err e = {0};
        pending = 1;
        struct machine *m = machine_create(&core, &p, done, &o, &e);
        ok(m != NULL, "%s: create starts (%s)", what, e.msg);
        if (!m || settle(what) < 0)
                return NULL;
        is_int(o.code, NS_OK, "%s: create succeeds (%s)", what, o.error);
        is_str(machine_state_name(m->state), "running", "%s: the machine runs", what);
        return o.code == NS_OK ? m : NULL;
}

static enum ns_code op(void (*fn)(struct machine *, machine_done_cb, void *), struct machine *m,
                       const char *what)
{
        struct outcome o = {0};
        pending = 1;
        fn(m, done, &o);
        settle(what);
        is_int(o.calls, 1, "%s: told once", what);
        return o.code;
}

static void destroy(struct machine *m, const char *what)
{
        char id[MACHINE_ID_MAX];
        snprintf(id, sizeof(id), "%s", m->id);
        struct outcome o = {0};
        pending = 1;
        machine_destroy(m, done, &o);
        settle(what);
        is_int(o.code, NS_OK, "%s: destroyed", what);
        is_str(stored_state(id), "destroyed", "%s: the store says destroyed", what);
        ok(machine_find(&core, id) == NULL, "%s: no longer listed", what);
}

static int answered;

static void on_answer(void *ud, json_t *resp, const json_t *error)
{
        (void)ud;
        answered = resp && !error ? 1 : -1;
        if (--pending == 0)
                loop_stop(&core.loop);
}

/* Whether m's agent answers a request now. */
static int answers(struct machine *m)
{
        json_t *req = json_pack("{s:s,s:s}", "op", "exists", "path", "/");
        answered = 0;
        pending = 1;
        int sent = machine_call(m, req, on_answer, NULL) != 0;
        json_decref(req);
        if (!sent) {
                pending = 0;
                return 0;
        }
        settle("a request to the agent");
        return answered == 1;
}

/* ---- the tests ----------------------------------------------------------------------- */

static void test_create_hibernate_resume(void)
{
        struct machine *m = create("create");
        if (!m)
                return;
        is_str(stored_state(m->id), "running", "the store says running");
        is_int(op(machine_resume, m, "resume a running machine"), NS_E_MACHINE_NOT_RUNNING,
               "a running machine cannot be resumed");
        is_int(op(machine_hibernate, m, "hibernate"), NS_OK, "hibernate succeeds");
        is_str(machine_state_name(m->state), "hibernated", "the machine is hibernated");
        is_str(stored_state(m->id), "hibernated", "the store says hibernated");
        is_int(op(machine_hibernate, m, "hibernate again"), NS_E_MACHINE_NOT_RUNNING,
               "a hibernated machine cannot hibernate");
        struct capture_outcome c = {0};
        pending = 1;
        machine_fork(m, 1, NULL, captured, &c);
        settle("fork a hibernated machine");
        is_int(c.code, NS_E_MACHINE_NOT_RUNNING, "a hibernated machine cannot fork");
        json_decref(c.children);
        int restores = fake_knobs.restores;
        is_int(op(machine_resume, m, "resume"), NS_OK, "resume succeeds");
        is_str(machine_state_name(m->state), "running", "the machine runs again");
        is_int(fake_knobs.restores, restores + 1, "from its checkpoint");
        ok(answers(m), "its agent takes requests");
        destroy(m, "destroy after a resume");
}

static void test_concurrent_resumes(void)
{
        struct machine *m = create("concurrent resumes");
        if (!m || op(machine_hibernate, m, "hibernate") != NS_OK)
                return;
        fake_knobs.helper_ms = 50; /* the restore is still under way when the others ask */
        struct outcome o[MACHINE_MAX_WAITERS + 1] = {{0}};
        int restores = fake_knobs.restores;
        pending = MACHINE_MAX_WAITERS + 1;
        for (int i = 0; i < MACHINE_MAX_WAITERS + 1; i++)
                machine_resume(m, done, &o[i]);
        is_str(machine_state_name(m->state), "resuming", "the machine is resuming");
        settle("concurrent resumes");
        fake_knobs.helper_ms = 0;
        int okay = 0, busy = 0;
        for (int i = 0; i < MACHINE_MAX_WAITERS + 1; i++) {
                okay += o[i].calls == 1 && o[i].code == NS_OK;
                busy += o[i].calls == 1 && o[i].code == NS_E_MACHINE_BUSY;
        }
        is_int(okay, MACHINE_MAX_WAITERS, "every waiter that fits is told it runs");
        is_int(busy, 1, "one more than fits is told machine_busy at once");
        is_int(fake_knobs.restores, restores + 1, "one restore served them all");
        destroy(m, "destroy after concurrent resumes");
}

static void test_failed_checkpoint(void)
{
        struct machine *m = create("failed checkpoint");
        if (!m)
                return;
        fake_knobs.fail_hibernate = 1;
        is_int(op(machine_hibernate, m, "a checkpoint that fails"), NS_E_MACHINE_FAILED,
               "a failed checkpoint reports machine_failed");
        fake_knobs.fail_hibernate = 0;
        is_str(machine_state_name(m->state), "running", "the machine runs on");
        is_str(stored_state(m->id), "running", "the store says running");
        ok(answers(m), "its agent still takes requests");
        is_int(op(machine_hibernate, m, "hibernate after a failed one"), NS_OK,
               "the next checkpoint works");
        destroy(m, "destroy after a failed checkpoint");
}

static void test_failed_restore(void)
{
        struct machine *m = create("failed restore");
        if (!m || op(machine_hibernate, m, "hibernate") != NS_OK)
                return;
        fake_knobs.fail_restore = 1;
        fake_knobs.helper_ms = 20; /* the helper fails before the agent could answer */
        fake_knobs.listen_ms = 200;
        is_int(op(machine_resume, m, "a restore that fails"), NS_E_MACHINE_FAILED,
               "a failed restore reports machine_failed");
        fake_knobs =
            (struct fake_knobs){.starts = fake_knobs.starts, .restores = fake_knobs.restores};
        is_str(machine_state_name(m->state), "hibernated", "the machine stays hibernated");
        is_int(op(machine_resume, m, "resume after a failed one"), NS_OK,
               "its checkpoint was kept: the next resume works");
        destroy(m, "destroy after a failed restore");
}

static void test_failed_start(void)
{
        struct machine_params p = {.template_name = "base", .vcpus = 1, .memory_mb = 256};
        struct outcome o = {0};
        struct err e = {0};
        fake_knobs.fail_start = 1;
        pending = 1;
        struct machine *m = machine_create(&core, &p, done, &o, &e);
        fake_knobs.fail_start = 0;
        if (!m)
                return;
        char id[MACHINE_ID_MAX];
        snprintf(id, sizeof(id), "%s", m->id);
        settle("a start that fails");
        is_int(o.code, NS_E_MACHINE_FAILED, "a failed start reports machine_failed");
        ok(strstr(o.error, "refuses") != NULL, "with the runtime's reason");
        is_str(stored_state(id), "failed", "the store says failed");
}

/* A runtime that cannot checkpoint mounts (the fake, like QEMU's) refuses volumes with a
 * deadline that hibernates, before anything is made. */
static void test_volumes_refuse_a_hibernating_deadline(void)
{
        json_t *vols = json_pack("[{s:s,s:s}]", "volume", "v_x", "path", "/data");
        struct machine_params p = {.template_name = "base",
                                   .vcpus = 1,
                                   .memory_mb = 256,
                                   .timeout_hibernate = 1,
                                   .volumes = vols};
        struct err e = {0};
        ok(machine_create(&core, &p, done, NULL, &e) == NULL, "refused at once");
        is_int(e.code, NS_E_INVALID_FIELD, "... as invalid_field (timeout_action)");
        json_decref(vols);
}

static void test_destroy_during_create(void)
{
        struct machine_params p = {.template_name = "base", .vcpus = 1, .memory_mb = 256};
        struct outcome created = {0}, destroyed = {0};
        struct err e = {0};
        fake_knobs.listen_ms = 300; /* still connecting when the destroy comes */
        pending = 2;
        struct machine *m = machine_create(&core, &p, done, &created, &e);
        if (!m)
                return;
        char id[MACHINE_ID_MAX];
        snprintf(id, sizeof(id), "%s", m->id);
        machine_destroy(m, done, &destroyed);
        settle("destroy during create");
        fake_knobs.listen_ms = 0;
        is_int(created.calls, 1, "the create is told once");
        ok(created.code != NS_OK, "the create fails (%s)", ns_code_name(created.code));
        is_int(destroyed.code, NS_OK, "the destroy completes");
        is_str(stored_state(id), "destroyed", "the store says destroyed");
}

static void test_destroy_during_resume(void)
{
        struct machine *m = create("destroy during resume");
        if (!m || op(machine_hibernate, m, "hibernate") != NS_OK)
                return;
        char id[MACHINE_ID_MAX];
        snprintf(id, sizeof(id), "%s", m->id);
        fake_knobs.helper_ms = 100;
        fake_knobs.listen_ms = 100;
        struct outcome resumed = {0}, destroyed = {0};
        pending = 2;
        machine_resume(m, done, &resumed);
        machine_destroy(m, done, &destroyed);
        settle("destroy during resume");
        fake_knobs.helper_ms = fake_knobs.listen_ms = 0;
        is_int(resumed.calls, 1, "the resume is told once");
        ok(resumed.code != NS_OK, "the resume fails (%s)", ns_code_name(resumed.code));
        is_int(destroyed.code, NS_OK, "the destroy completes");
        is_str(stored_state(id), "destroyed", "the store says destroyed");
}

static void test_fork(void)
{
        struct machine *m = create("fork");
        if (!m)
                return;
        struct capture_outcome c = {0};
        pending = 1;
        machine_fork(m, 2, NULL, captured, &c);
        settle("fork into two");
        is_int(c.code, NS_OK, "the fork succeeds");
        is_int(json_array_size(c.children), 2, "two children");
        is_str(machine_state_name(m->state), "running", "the parent runs on");
        size_t i;
        json_t *v;
        json_array_foreach(c.children, i, v)
        {
                struct machine *k = machine_find(&core, json_string_value(v));
                ok(k && k->state == M_RUNNING, "child %zu runs", i);
                ok(k && strcmp(k->parent_id, m->id) == 0, "child %zu names its parent", i);
                if (k)
                        destroy(k, "destroy a child");
        }
        json_decref(c.children);
        destroy(m, "destroy the parent");
}

static void test_destroy_during_fork(void)
{
        struct machine *m = create("destroy during fork");
        if (!m)
                return;
        fake_knobs.helper_ms = 100;
        struct capture_outcome c = {0};
        struct outcome destroyed = {0};
        pending = 2;
        machine_fork(m, 1, NULL, captured, &c);
        machine_destroy(m, done, &destroyed);
        settle("destroy during fork");
        fake_knobs.helper_ms = 0;
        is_int(c.calls, 1, "the fork is told once");
        is_int(destroyed.code, NS_OK, "the destroy completes");
        size_t i;
        json_t *v;
        json_array_foreach(c.children, i, v)
        {
                struct machine *k = machine_find(&core, json_string_value(v));
                if (k)
                        destroy(k, "destroy a child of a destroyed parent");
        }
        json_decref(c.children);
}

static void test_recovery(void)
{
        struct machine *run = create("recovery: running");
        struct machine *hib = create("recovery: hibernated");
        if (!run || !hib || op(machine_hibernate, hib, "hibernate") != NS_OK)
                return;
        char run_id[MACHINE_ID_MAX], hib_id[MACHINE_ID_MAX], new_id[MACHINE_ID_MAX];
        snprintf(run_id, sizeof(run_id), "%s", run->id);
        snprintf(hib_id, sizeof(hib_id), "%s", hib->id);
        /* one caught mid-creation: its sandbox never listens before the restart */
        struct machine_params p = {.template_name = "base", .vcpus = 1, .memory_mb = 256};
        struct outcome o = {0};
        struct err e = {0};
        fake_knobs.listen_ms = 60000;
        struct machine *mid = machine_create(&core, &p, done, &o, &e);
        fake_knobs.listen_ms = 0;
        snprintf(new_id, sizeof(new_id), "%s", mid ? mid->id : "-");
        core_restart();
        struct machine *r = machine_find(&core, run_id);
        ok(r && r->state == M_RUNNING, "a running machine is adopted running");
        ok(r && answers(r), "... and its agent answers through the kept socket");
        struct machine *h = machine_find(&core, hib_id);
        ok(h && h->state == M_HIBERNATED, "a hibernated machine stays hibernated");
        if (h)
                is_int(op(machine_resume, h, "resume after a restart"), NS_OK,
                       "... and resumes from its checkpoint");
        ok(machine_find(&core, new_id) == NULL || machine_find(&core, new_id)->state != M_CREATING,
           "a machine caught creating is not left creating");
        pending = 0;
        /* whatever is left (the creating one is torn down in the background) */
        while (core.machines && core.machines->state != M_DESTROYING) {
                struct machine *m = core.machines;
                if (m->state == M_FAILED) {
                        struct outcome d = {0};
                        pending = 1;
                        machine_destroy(m, done, &d);
                        settle("tear down a failed machine");
                        continue;
                }
                destroy(m, "destroy after recovery");
        }
        const char *st = stored_state(new_id);
        ok(strcmp(st, "failed") == 0 || strcmp(st, "destroyed") == 0,
           "the store says failed or destroyed for the one caught creating (%s)", st);
}

/* Every field of the spec table, set away from its default, survives a restart. */
static void test_spec_round_trip(void)
{
        struct machine *m = create("spec round trip");
        if (!m)
                return;
        struct machine_conf *c = &m->conf;
        snprintf(c->template_name, sizeof(c->template_name), "tpl-a");
        c->vcpus = 3;
        c->memory_mb = 777;
        json_object_set_new(c->env, "K", json_string("v"));
        snprintf(c->user, sizeof(c->user), "agent");
        machine_conf_set_cwd(c, "/work/dir");
        json_array_append_new(c->layers, json_string("l_0123"));
        c->auto_resume = 0;
        c->timeout_hibernate = 1;
        c->timeout_s = 4321;
        snprintf(c->snapshot_id, sizeof(c->snapshot_id), "s_0123");
        c->network = json_pack("{s:i,s:s}", "slot", 7, "address", "10.1.2.3");
        snprintf(c->checkout, sizeof(c->checkout), "fresh");
        snprintf(c->image, sizeof(c->image), "i_0123");
        c->idle = json_pack("{s:i,s:i}", "pause_after_s", 60, "hibernate_after_s", 600);
        json_array_append_new(c->secrets, json_string("API_TOKEN"));
        struct err e = {0};
        is_int(machine__save_spec(m, &e), 0, "the spec is stored (%s)", e.msg);
        json_t *before = machine__spec_json(m);
        is_int(json_object_size(before), machine_conf_nfields,
               "every field of the table is stored");
        char id[MACHINE_ID_MAX];
        snprintf(id, sizeof(id), "%s", m->id);
        core_restart();
        m = machine_find(&core, id);
        ok(m != NULL, "the machine is adopted after a restart");
        if (!m) {
                json_decref(before);
                return;
        }
        json_t *after = machine__spec_json(m);
        ok(json_equal(before, after), "every field reads back as it was written");
        struct machine_rec rec;
        struct err ge = {0};
        json_t *view =
            store_machine_get(core.store, id, &rec, &ge) == 0 ? machine_rec_json(&rec) : NULL;
        if (view)
                store_machine_rec_free(&rec);
        json_t *want = json_pack("{s:s,s:i,s:i,s:s,s:s,s:b,s:s,s:s,s:s,s:s}", "template", "tpl-a",
                                 "vcpus", 3, "memory_mb", 777, "user", "agent", "cwd", "/work/dir",
                                 "auto_resume", 0, "timeout_action", "hibernate", "snapshot_id",
                                 "s_0123", "checkout", "fresh", "runtime", "gvisor");
        json_object_set_new(want, "secrets", json_pack("[s]", "API_TOKEN"));
        const char *key;
        json_t *value;
        int shown = view != NULL;
        json_object_foreach(want, key, value) shown &=
            json_equal(json_object_get(view, key), value);
        ok(shown, "the API's view shows the spec's fields from the same table");
        ok(view && !json_object_get(view, "env") && !json_object_get(view, "layers"),
           "... and not the environment or the layers");
        json_decref(want);
        json_decref(view);
        char *a = json_dumps(after, JSON_SORT_KEYS), *b = json_dumps(before, JSON_SORT_KEYS);
        if (!json_equal(before, after))
                printf("#   before %s\n#   after  %s\n", b, a);
        free(a);
        free(b);
        json_decref(before);
        json_decref(after);
        json_decref(m->conf.network); /* it has no slot to give back on this host */
        m->conf.network = NULL;
        destroy(m, "destroy after the round trip");
}

int main(void)
{
        log_set_level(getenv("NS_TEST_LOG")
                          ? LOG_LVL_DEBUG
                          : LOG_LVL_ERROR); /* the failures the tests cause are expected */
        if (!mkdtemp(root) || core_up() < 0) {
                ok(0, "set up a core on the fake runtime");
                return tap_done();
        }
        test_create_hibernate_resume();
        test_concurrent_resumes();
        test_failed_checkpoint();
        test_failed_restore();
        test_failed_start();
        test_volumes_refuse_a_hibernating_deadline();
        test_destroy_during_create();
        test_destroy_during_resume();
        test_fork();
        test_destroy_during_fork();
        test_recovery();
        test_spec_round_trip();
        drain();
        machines_detach(&core);
        base_rootfs_fini(&core.templates);
        prep_fini(&core.vm_guest);
        store_close(core.store);
        loop_fini(&core.loop);
        close(sig_io.fd);
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
        if (system(cmd) != 0)
                printf("# could not remove %s\n", root);
        return tap_done();
}
