/* nsagent: the first process inside every machine. It speaks the agent protocol
 * (include/nsproto.h) on stdin/stdout and runs processes and file operations for the
 * daemon. Single-threaded, one epoll loop; no allocation grows without a bound set
 * by the protocol's flow-control windows. */
#ifndef NS_AGENT_H
#define NS_AGENT_H

#include <jansson.h>
#include <stdint.h>
#include <sys/types.h>

#include "../../include/nsproto.h"
#include "../common/buf.h"
#include "../common/ring.h"
#include "users.h"

#define AGENT_MAX_CHANNELS 1024
#define AGENT_OUT_HIGH     (2u << 20)   /* stop producing DATA while this much is queued */
#define AGENT_MAX_PROCS    64           /* background and PTY processes, running or exited */
#define PROC_RING_SIZE     (1u << 20)   /* replay kept per output stream of a process */
#define PROC_ATTACH_LAG    (256u << 10) /* a process waits while an attached reader lags this much */
#define PROC_STDIN_MAX     (1u << 20)   /* stdin queued for a process that does not read it */

/* What an epoll registration is for (the low byte of its key; the rest is a channel
 * id, or a pid for W_PROC). */
enum {
        W_IN = 1,
        W_OUT = 2,
        W_SIG = 3,
        W_EXEC = 10, /* + stream: an exec channel's stdin (10), stdout (11), stderr (12) */
        W_PROC = 20, /* + stream: a process's stdin (20), stdout (21), stderr (22) */
        W_WATCH = 30,
};

/* A background or PTY process, kept (with its output) after it exits until evicted
 * by newer ones. Sessions outlive channels: clients attach and detach at will. */
struct proc {
        pid_t pid;
        char tag[65];
        char *cmd; /* for listings (owned) */
        int tty;
        unsigned cols, rows;
        int fd_in, fd_out, fd_err; /* -1 when closed; a tty's fd_in and fd_out are the master */
        struct ring ring[3];       /* output of stream 1 (stdout, or the tty) and 2 */
        struct buf in_pending;     /* stdin not yet written */
        int in_eof;
        int exited, status;
        uint64_t start_ms, end_ms, drain_ms;
        size_t left[3];     /* after the exit: bytes it left unread in its output pipes */
        int64_t started_at; /* wall clock, ms */
        struct proc *next;
};

struct watch_dir; /* watch.c */

struct agent;

/* An operation a request names ({"op": name}): fn answers it on chan (req borrowed).
 * Each module keeps a table of its own, ended by {NULL, NULL}; main.c looks names up. */
struct agent_op {
        const char *name;
        void (*fn)(struct agent *a, uint32_t chan, json_t *req);
};

/* One open channel (an exec or a file transfer). */
struct chan {
        uint32_t id;
        int kind; /* CHAN_EXEC, CHAN_READ, CHAN_WRITE */
        struct chan *next;
        /* exec */
        pid_t pid;
        int fd_in, fd_out, fd_err; /* -1 when closed */
        struct buf in_pending;     /* stdin bytes not yet written to the process */
        int in_eof;
        int exited, status, timed_out;
        uint64_t start_ms, deadline_ms;
        size_t left[3]; /* after the exit: bytes the command left unread in its pipes */
        /* read / write */
        int fd;
        uint64_t bytes;
        char *path, *tmp_path;
        unsigned mode;
        int failed;
        int resume;      /* a resumable upload's piece: no temp file, nothing renamed */
        uint64_t offset; /* where that piece began */
        /* credit for what we send on stdout (1) and stderr (2) */
        uint32_t credit[3];
        /* attach: the process is c->pid; what was sent, and where a non-following
         * attach stops */
        uint64_t cursor[3], until[3];
        int follow;
        /* watch: the inotify fd is c->fd */
        struct watch_dir *dirs;
        size_t ndirs;
        int recursive;
        uint32_t move_cookie;
        char *move_from;
        /* tar_read / tar_write: the archive's state (tar_fs.c) */
        void *tar;
};

enum {
        CHAN_EXEC = 1,
        CHAN_READ,
        CHAN_WRITE,
        CHAN_ATTACH,
        CHAN_WATCH,
        CHAN_TAR_READ,
        CHAN_TAR_WRITE
};

/* A command to start (parsed from an exec or spawn request). */
struct spawn {
        char **argv;
        char **envp;
        const char *cwd;
        struct user_info user;
        int has_user;
        int with_stdin;
        int tty; /* stdin is a terminal to make the controlling one */
};

/* The child's report before exec: stage (1 cwd, 2 user, 3 exec) and errno. */
struct child_err {
        int stage;
        int err;
};

struct agent {
        int epfd, in_fd, out_fd, sig_fd;
        struct nsp_reader reader;
        struct buf out;
        struct chan *chans;
        unsigned nchans;
        struct proc *procs;
        unsigned nprocs;
        int in_closed;
        /* a checkpoint may be coming ("quiesce"): rebuild the epoll set every few ms
         * until REARM_WINDOW_MS after the next frame from the daemon, since after a
         * restore readiness of the stdio descriptors no longer reaches registrations
         * made before (or too early after) it */
        int rearm_pending;
        uint64_t rearm_until; /* ms (agent_now_ms); 0 while no frame came yet */
        unsigned rearms_left; /* rebuilds still owed before the window may end */
};

/* Queues one frame; returns 0 or -1 when the output is over its hard limit. */
int agent_send(struct agent *a, uint16_t type, uint16_t flags, uint32_t chan, const void *p,
               size_t n);
/* Queues a JSON frame (steals doc). */
int agent_send_json(struct agent *a, uint16_t type, uint32_t chan, json_t *doc);
/* Queues RESP {"error":{"code","message"}} for chan. */
void agent_send_error(struct agent *a, uint32_t chan, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* Queues RESP error for an errno value (file_not_found, permission_denied, ...). */
void agent_send_errno(struct agent *a, uint32_t chan, int err, const char *what);

/* Gives the daemon back n bytes of channel chan's stdin window (they were consumed). */
void agent_grant_stdin(struct agent *a, uint32_t chan, size_t n);

/* Sends a read channel's bytes as DATA while it has credit, pulled from src (>0 bytes,
 * 0 at the end: EOF, or -errno: the error, named `what`); the channel ends with it. */
void files_pump_from(struct agent *a, struct chan *c,
                     ssize_t (*src)(struct chan *c, unsigned char *dst, size_t cap),
                     const char *what);

/* Channels. */
struct chan *agent_chan_new(struct agent *a, uint32_t id, int kind);
struct chan *agent_chan_find(struct agent *a, uint32_t id);
void agent_chan_free(struct agent *a, struct chan *c);

/* epoll registration of a channel's fd (data.u64 carries chan id and which fd). */
int agent_watch(struct agent *a, int fd, uint32_t events, uint32_t chan, int which);
void agent_unwatch(struct agent *a, int fd);

uint64_t agent_now_ms(void);

/* Output a process that exited left in its pipes is delivered whatever the reader's
 * pace: DRAIN_MS after the exit, a pipe is cut only once those bytes were read (what
 * comes later is from its background children, which may hold the pipe open forever).
 * drain_note records the bytes unread in fd (FIONREAD; 0 when unknown) into *left,
 * drain_read counts n bytes read off them, drain_pending says whether any remain in a
 * pipe still open (a closed one has nothing more to give). */
void drain_note(int fd, size_t *left);
void drain_read(size_t *left, size_t n);
int drain_pending(const size_t left[3], int fd_out, int fd_err);

/* identity.c: {"op":"identity","hostname","machine_id","seed","env"?} after a fork or a
 * spawn from a snapshot; env (names to strings) is set in the agent's own environment,
 * so what it starts from then on has it. Answers RESP {"hostname"} or an error. */
void identity_apply(struct agent *a, uint32_t chan, json_t *req);

/* identity.c: {"op":"env","env"} sets env in the agent's own environment as identity
 * does (a new machine's secrets). Answers RESP {} or an error. */
void env_apply(struct agent *a, uint32_t chan, json_t *req);

/* spawn.c: parses cmd/argv/env/cwd/user/stdin of req into sp (answers the error and
 * returns -1); spawn_run starts it on the child's fds cfd[0..2] (pid, or -1 with
 * errno); spawn_failed answers chan when the start failed (pid < 0, or chdir/setuid
 * failed: then the child is reaped) and returns 1; spawn_exec_error formats the
 * "command not found" line of a failed exec (0 when exec worked). */
int spawn_parse(struct agent *a, uint32_t chan, json_t *req, struct spawn *sp);
pid_t spawn_run(const struct spawn *sp, const int cfd[3], struct child_err *ce);
int spawn_failed(struct agent *a, uint32_t chan, pid_t pid, const struct spawn *sp,
                 const struct child_err *ce);
size_t spawn_exec_error(const struct spawn *sp, const struct child_err *ce, char *msg, size_t cap);
void spawn_free(struct spawn *sp);

/* exec.c */
pid_t exec_spawn_pipes(struct agent *a, uint32_t chan, const struct spawn *sp, int fds[3],
                       struct child_err *ce);
json_t *exec_exit_json(int status, int timed_out, uint64_t duration_ms);
void exec_detach(struct agent *a, struct chan *c);
void exec_start(struct agent *a, uint32_t chan, json_t *req);
void exec_on_fd(struct agent *a, struct chan *c, int which, uint32_t events);
void exec_on_stdin(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof);
void exec_signal(struct agent *a, struct chan *c, int sig);
void exec_reap(struct agent *a);
void exec_check_deadlines(struct agent *a, uint64_t now);
int exec_next_deadline(struct agent *a, uint64_t now);
void exec_pump(struct agent *a, struct chan *c);

/* proc.c: ops spawn, proc_list, proc_input, proc_signal, proc_resize (answers chan) */
extern const struct agent_op proc_ops[];
struct proc *proc_find(struct agent *a, pid_t pid);
struct proc *proc_find_tag(struct agent *a, const char *tag);
int proc_finished(const struct proc *p);
void proc_on_fd(struct agent *a, pid_t pid, int stream);
void proc_on_exit(struct agent *a, pid_t pid, int status);

/* What a request started, as a listing shows it: its cmd, or its argv joined (malloc'd). */
char *proc_describe(json_t *req, const struct spawn *sp);

/* Tells the daemon (a NOTE frame) that a process started (status NULL) or exited:
 * background (a spawn'ed process) or a foreground exec; cmd may be NULL. */
void agent_note_process(struct agent *a, pid_t pid, const char *tag, const char *cmd,
                        int background, const int *status);
/* Cuts the output of processes that exited DRAIN_MS ago (before channels pump, so
 * their readers see the end in the same round). */
void proc_drain(struct agent *a, uint64_t now);
/* Registers each process's fds for what it may do now (after channels pumped). */
void proc_pump_all(struct agent *a);
void proc_signal_pid(struct agent *a, pid_t pid, int sig);
void proc_on_stdin(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof);
int proc_next_deadline(struct agent *a, uint64_t now);

/* attach.c: op attach {"pid"|"tag","replay","follow"}, and attaching a new process to
 * the channel that started it */
void attach_request(struct agent *a, uint32_t chan, json_t *req);
void attach_start(struct agent *a, uint32_t chan, struct proc *p, int replay, int follow,
                  json_t *resp);
void attach_pump(struct agent *a, struct chan *c);
uint64_t attach_min_cursor(struct agent *a, const struct proc *p, int stream);

/* watch.c: op watch {"path","recursive"} */
void watch_request(struct agent *a, uint32_t chan, json_t *req);
void watch_on_fd(struct agent *a, struct chan *c);
void watch_pump(struct agent *a, struct chan *c);
void watch_free(struct chan *c);

/* files.c: ops read, write, stat, exists, list, mkdir, remove, rename, search, replace */
extern const struct agent_op files_ops[];
void files_on_data(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof);
void files_pump(struct agent *a, struct chan *c);

/* mkdir -p (mode for what it makes). 0 or -1 with errno. */
int files_mkdirs(const char *path, mode_t mode);

/* The directories above path, made as needed. 0 or -1 with errno. */
int files_parent_dirs(const char *path);

/* files_batch.c: ops chmod and write_batch */
extern const struct agent_op files_batch_ops[];

/* upload.c: a write with an "offset" (upload_piece), and op upload_finish */
extern const struct agent_op upload_ops[];
void upload_piece(struct agent *a, uint32_t chan, const char *path, json_int_t offset);

/* n bytes a piece wrote into the upload file `path`, after those before them. */
void upload_hash(const char *path, const unsigned char *p, size_t n);

/* tar_fs.c: ops tar_read {"path"} (a directory or file as a tar stream) and tar_write
 * {"path"} (a tar stream on stdin extracted beneath it) */
extern const struct agent_op tar_ops[];
void tar_on_data(struct agent *a, struct chan *c, const unsigned char *p, size_t n, int eof);
void tar_pump(struct agent *a, struct chan *c);
void tar_chan_free(struct chan *c);

#endif
