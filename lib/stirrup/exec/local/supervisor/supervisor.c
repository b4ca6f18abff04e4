/* stirrup-supervisor: runs one command of the local backend and owns every
 * process that command starts, so that none can outlive the environment.
 *
 * It is the child subreaper (PR_SET_CHILD_SUBREAPER) of everything below it:
 * a process that detaches (setsid, a double fork, `nohup ... &`, a cleared
 * environment, a new name) is reparented here when its parent exits, not to
 * init. It reports the command's pid and wait status to the host over its
 * channel (a socket), stays while processes the command left behind run
 * (background jobs live until the environment stops), and exits once none is
 * left. When the channel brings a byte or end of file -- the host shut it
 * down (timeout, cancellation, stop) or died, however it died, SIGKILL included --
 * or when it is sent a terminating signal, it SIGKILLs its whole subtree,
 * reaps it, and exits.
 *
 * With a cgroup (--cgroup), it moves itself into it before starting the
 * command, so that the host can also kill the environment with cgroup.kill,
 * which nothing inside can escape, not even by killing this process.
 *
 * The library embeds it and runs it from a sealed memfd, once per command:
 * its start-up is part of every command's cost. On x86-64 and AArch64 it is
 * built without libc (STIRRUP_SUPERVISOR_FREESTANDING: raw system calls, its
 * own _start), because a static glibc's start-up alone (CPU feature probing
 * with CPUID, which traps in a virtual machine) costs several times a whole
 * exec of this program. Elsewhere it links a static libc and goes through
 * syscall(2). Either way it only makes system calls. See protocol.h for the
 * interface. */
#include <asm/unistd.h>

#include "protocol.h"

typedef unsigned long u64;
typedef long i64;
typedef unsigned int u32;
typedef int i32;
typedef unsigned short u16;
typedef unsigned char u8;

/* ---- system calls ---------------------------------------------------------
 * Every sys_ call returns the kernel's result: >= 0, or -errno. */

#ifdef STIRRUP_SUPERVISOR_FREESTANDING

#if defined(__x86_64__)
static inline i64 sc6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f)
{
    register i64 r10 __asm__("r10") = d;
    register i64 r8 __asm__("r8") = e;
    register i64 r9 __asm__("r9") = f;
    i64 ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(n), "D"(a), "S"(b), "d"(c), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    return ret;
}
/* long clone_vfork(int (*fn)(void*), void* arg, void* stack_top): the child
 * runs fn(arg) on its own stack, sharing our memory, while we wait (until
 * it execs or exits), as glibc's posix_spawn does. */
__asm__(".text\n"
        ".global clone_vfork\n"
        "clone_vfork:\n"
        "    mov %rdi, %r8\n"     /* fn (r8 is clone's tls: ignored without CLONE_SETTLS) */
        "    mov %rsi, %r9\n"     /* arg */
        "    mov %rdx, %rsi\n"    /* the child's stack */
        "    mov $0x4111, %edi\n" /* CLONE_VM | CLONE_VFORK | SIGCHLD */
        "    xor %edx, %edx\n"
        "    xor %r10d, %r10d\n"
        "    mov $56, %eax\n" /* clone */
        "    syscall\n"
        "    test %rax, %rax\n"
        "    jnz 1f\n"
        "    xor %ebp, %ebp\n"
        "    mov %r9, %rdi\n"
        "    call *%r8\n"
        "    mov %eax, %edi\n"
        "    mov $60, %eax\n" /* exit */
        "    syscall\n"
        "    hlt\n"
        "1:  ret\n");
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "    xor %ebp, %ebp\n"
        "    mov %rsp, %rdi\n"
        "    and $-16, %rsp\n"
        "    call supervisor_start\n"
        "    hlt\n");
#elif defined(__aarch64__)
static inline i64 sc6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f)
{
    register i64 x8 __asm__("x8") = n;
    register i64 x0 __asm__("x0") = a;
    register i64 x1 __asm__("x1") = b;
    register i64 x2 __asm__("x2") = c;
    register i64 x3 __asm__("x3") = d;
    register i64 x4 __asm__("x4") = e;
    register i64 x5 __asm__("x5") = f;
    __asm__ volatile("svc 0" : "+r"(x0) : "r"(x8), "r"(x1), "r"(x2), "r"(x3), "r"(x4), "r"(x5) : "memory", "cc");
    return x0;
}
__asm__(".text\n"
        ".global clone_vfork\n"
        "clone_vfork:\n"
        "    mov x9, x0\n"      /* fn */
        "    mov x10, x1\n"     /* arg */
        "    mov x1, x2\n"      /* the child's stack */
        "    mov x0, #0x4111\n" /* CLONE_VM | CLONE_VFORK | SIGCHLD */
        "    mov x2, #0\n"
        "    mov x3, #0\n"
        "    mov x4, #0\n"
        "    mov x8, #220\n" /* clone */
        "    svc #0\n"
        "    cbnz x0, 1f\n"
        "    mov x29, #0\n"
        "    mov x30, #0\n"
        "    mov x0, x10\n"
        "    blr x9\n"
        "    mov x8, #93\n" /* exit */
        "    svc #0\n"
        "    brk #0\n"
        "1:  ret\n");
__asm__(".text\n"
        ".global _start\n"
        "_start:\n"
        "    mov x29, #0\n"
        "    mov x30, #0\n"
        "    mov x0, sp\n"
        "    bl supervisor_start\n"
        "    brk #0\n");
#else
#error "STIRRUP_SUPERVISOR_FREESTANDING: only x86-64 and AArch64"
#endif

/* What the compiler may call for struct copies and initialisation. */
void* memset(void* d, int c, u64 n);
void* memcpy(void* d, const void* s, u64 n);
void* memmove(void* d, const void* s, u64 n);
int memcmp(const void* a, const void* b, u64 n);
void* memset(void* d, int c, u64 n)
{
    u8* p = d;
    while (n--)
        *p++ = (u8)c;
    return d;
}
void* memcpy(void* d, const void* s, u64 n)
{
    u8* p = d;
    const u8* q = s;
    while (n--)
        *p++ = *q++;
    return d;
}
void* memmove(void* d, const void* s, u64 n)
{
    u8* p = d;
    const u8* q = s;
    if (p < q)
        while (n--)
            *p++ = *q++;
    else
        while (n--)
            p[n] = q[n];
    return d;
}
int memcmp(const void* a, const void* b, u64 n)
{
    const u8* p = a;
    const u8* q = b;
    for (; n; --n, ++p, ++q)
        if (*p != *q)
            return *p - *q;
    return 0;
}

i64 clone_vfork(int (*fn)(void*), void* arg, void* stack_top);

#else /* a static libc */

#define _GNU_SOURCE
#include <errno.h>
#include <unistd.h>

static inline i64 sc6(i64 n, i64 a, i64 b, i64 c, i64 d, i64 e, i64 f)
{
    const long r = syscall(n, a, b, c, d, e, f);
    return r == -1 ? -(i64)errno : r;
}

#include <sched.h>

static i64 clone_vfork(int (*fn)(void*), void* arg, void* stack_top)
{
    const int pid = clone(fn, stack_top, CLONE_VM | CLONE_VFORK | 17 /* SIGCHLD */, arg);
    return pid < 0 ? -(i64)errno : pid;
}

#endif

#define sc0(n) sc6((n), 0, 0, 0, 0, 0, 0)
#define sc1(n, a) sc6((n), (i64)(a), 0, 0, 0, 0, 0)
#define sc2(n, a, b) sc6((n), (i64)(a), (i64)(b), 0, 0, 0, 0)
#define sc3(n, a, b, c) sc6((n), (i64)(a), (i64)(b), (i64)(c), 0, 0, 0)
#define sc4(n, a, b, c, d) sc6((n), (i64)(a), (i64)(b), (i64)(c), (i64)(d), 0, 0)
#define sc5(n, a, b, c, d, e) sc6((n), (i64)(a), (i64)(b), (i64)(c), (i64)(d), (i64)(e), 0)

enum {
    E_NOENT = 2,
    E_INTR = 4,
    E_IO = 5,
    E_NOEXEC = 8,
    E_CHILD = 10,
    E_ACCES = 13,
    E_NODEV = 19,
    E_NOTDIR = 20,
    E_INVAL = 22,
    E_NAMETOOLONG = 36,
    E_LOOP = 40,
    E_TIMEDOUT = 110,
    E_STALE = 116,
};
enum { O_RD = 0, O_WR = 1, O_RW = 2, O_CLOEXEC_ = 02000000 };
enum { AT_FDCWD_ = -100, F_SETFD_ = 2, FD_CLOEXEC_ = 1, WNOHANG_ = 1, POLLIN_ = 1 };
enum { SIG_BLOCK_ = 0, SIG_SETMASK_ = 2 };
enum { PR_SET_NAME_ = 15, PR_SET_CHILD_SUBREAPER_ = 36 };
enum { SFD_NONBLOCK_ = 04000, SFD_CLOEXEC_ = 02000000 };
enum {
    SIG_KILL = 9,
    SIG_PIPE = 13,
    SIG_CHLD = 17,
    SIG_CONT = 18,
    SIG_TSTP = 20,
    SIG_TTIN = 21,
    SIG_TTOU = 22,
    SIG_URG = 23,
    SIG_WINCH = 28,
};

struct pollfd_ {
    i32 fd;
    short events;
    short revents;
};
struct timespec_ {
    i64 sec;
    i64 nsec;
};
struct signalfd_siginfo_ {
    u32 ssi_signo;
    u8 rest[124];
};

static i64 sys_read(int fd, void* buf, u64 n)
{
    return sc3(__NR_read, fd, buf, n);
}
static i64 sys_write(int fd, const void* buf, u64 n)
{
    return sc3(__NR_write, fd, buf, n);
}
static i64 sys_open(const char* path, int flags)
{
    return sc4(__NR_openat, AT_FDCWD_, path, flags, 0);
}
static i64 sys_close(int fd)
{
    return sc1(__NR_close, fd);
}
static i64 sys_dup3(int from, int to)
{
    return sc3(__NR_dup3, from, to, 0);
}
static i64 sys_getpid(void)
{
    return sc0(__NR_getpid);
}
static i64 sys_kill(int pid, int sig)
{
    return sc2(__NR_kill, pid, sig);
}
static i64 sys_wait4(int pid, int* status, int options)
{
    return sc4(__NR_wait4, pid, status, options, 0);
}
static i64 sys_ppoll(struct pollfd_* fds, u64 n, const struct timespec_* t)
{
    return sc5(__NR_ppoll, fds, n, t, 0, 8);
}

/* ---- small helpers ------------------------------------------------------- */

static u64 str_len(const char* s)
{
    u64 n = 0;
    while (s[n])
        ++n;
    return n;
}

static int str_eq(const char* a, const char* b)
{
    while (*a && *a == *b)
        ++a, ++b;
    return *a == *b;
}

static char* append_text(char* out, const char* text)
{
    while (*text)
        *out++ = *text++;
    *out = '\0';
    return out;
}

static char* append_number(char* out, i64 n)
{
    char digits[24];
    int len = 0;
    do
        digits[len++] = (char)('0' + n % 10);
    while ((n /= 10) > 0);
    while (len > 0)
        *out++ = digits[--len];
    *out = '\0';
    return out;
}

static void pause_briefly(void)
{
    const struct timespec_ t = {0, 1000 * 1000}; /* 1 ms */
    sys_ppoll(0, 0, &t);
}

/* ---- the protocol -------------------------------------------------------- */

static int command_pid = -1;
static int command_ended = 0;    /* reaped */
static int command_status = 0;   /* its wait status, once reaped */
static int command_reported = 0; /* EXITED sent */

static void report(i32 kind, i32 a, i32 b)
{
    const i32 record[STIRRUP_SUPERVISOR_RECORD_INTS] = {kind, a, b};
    const char* p = (const char*)record;
    u64 left = sizeof record;
    while (left > 0) {
        const i64 n = sys_write(STIRRUP_SUPERVISOR_CHANNEL_FD, p, left);
        if (n == -E_INTR)
            continue;
        if (n <= 0)
            return; /* the host is gone: nobody to tell */
        p += n;
        left -= (u64)n;
    }
}

static void note_reaped(int pid, int status)
{
    if (pid == command_pid && !command_ended) {
        command_ended = 1;
        command_status = status;
    }
}

/* ---- this process's children -------------------------------------------- */

/* Handled in batches: more children than this are killed over several rounds. */
#define MAX_BATCH 4096
static int kids[MAX_BATCH];
static int nkids;
static char io_buf[16384];

static void push_kid(i64 pid)
{
    if (pid > 0 && nkids < MAX_BATCH)
        kids[nkids++] = (int)pid;
}

/* Children from /proc/self/task/<tid>/children (this process has one
 * thread). Returns -1 when the kernel does not provide the file. */
static int children_from_task(void)
{
    static int unavailable = 0;
    if (unavailable)
        return -1;
    char path[96];
    const i64 self = sys_getpid();
    char* p = append_text(path, "/proc/");
    p = append_number(p, self);
    p = append_text(p, "/task/");
    p = append_number(p, self);
    append_text(p, "/children");
    const i64 fd = sys_open(path, O_RD | O_CLOEXEC_);
    if (fd < 0) {
        unavailable = 1;
        return -1;
    }
    i64 pid = -1; /* a number may straddle two reads */
    for (;;) {
        const i64 n = sys_read((int)fd, io_buf, sizeof io_buf);
        if (n == -E_INTR)
            continue;
        if (n <= 0)
            break;
        for (i64 i = 0; i < n; ++i) {
            const char c = io_buf[i];
            if (c >= '0' && c <= '9') {
                pid = (pid < 0 ? 0 : pid * 10) + (c - '0');
            } else {
                push_kid(pid);
                pid = -1;
            }
        }
    }
    push_kid(pid);
    sys_close((int)fd);
    return 0;
}

/* The ppid in /proc/<pid>/stat: the name (field 2) may hold spaces and ')',
 * so the fields that follow the last ')' are counted: ") S PPID ...". */
static i64 parent_of(i64 pid)
{
    char path[64];
    append_text(append_number(append_text(path, "/proc/"), pid), "/stat");
    const i64 fd = sys_open(path, O_RD | O_CLOEXEC_);
    if (fd < 0)
        return -1;
    char stat[1024];
    i64 len = 0;
    for (;;) {
        const i64 n = sys_read((int)fd, stat + len, sizeof stat - 1 - (u64)len);
        if (n == -E_INTR)
            continue;
        if (n <= 0)
            break;
        len += n;
        if (len == (i64)sizeof stat - 1)
            break;
    }
    sys_close((int)fd);
    stat[len] = '\0';
    i64 close = -1;
    for (i64 i = 0; i < len; ++i)
        if (stat[i] == ')')
            close = i;
    if (close < 0 || close + 4 >= len)
        return -1;
    i64 ppid = 0;
    for (i64 i = close + 4; i < len && stat[i] >= '0' && stat[i] <= '9'; ++i)
        ppid = ppid * 10 + (stat[i] - '0');
    return ppid;
}

/* The fallback: every process whose parent is this one. */
static void children_from_scan(void)
{
    const i64 self = sys_getpid();
    const i64 dir = sys_open("/proc", O_RD | O_CLOEXEC_);
    if (dir < 0)
        return;
    static char entries[8192];
    for (;;) {
        const i64 n = sc3(__NR_getdents64, dir, entries, sizeof entries);
        if (n <= 0)
            break;
        for (i64 off = 0; off < n;) {
            /* struct linux_dirent64: ino (8), off (8), reclen (2), type (1), name */
            u16 reclen;
            __builtin_memcpy(&reclen, entries + off + 16, sizeof reclen);
            const char* name = entries + off + 19;
            i64 pid = 0;
            int numeric = *name != '\0';
            for (const char* c = name; *c; ++c) {
                if (*c < '0' || *c > '9') {
                    numeric = 0;
                    break;
                }
                pid = pid * 10 + (*c - '0');
            }
            if (numeric && pid != self && parent_of(pid) == self)
                push_kid(pid);
            off += reclen;
        }
    }
    sys_close((int)dir);
}

static void list_children(void)
{
    nkids = 0;
    if (children_from_task() != 0)
        children_from_scan();
}

/* ---- killing the subtree ------------------------------------------------- */

/* SIGKILLs every process below this one and reaps them. Only this process's
 * own children are signalled, and each one's process group: a child is not
 * reaped yet, so neither its pid nor a group it leads can belong to anyone
 * else. Their orphans are reparented here as they die (we are their
 * subreaper), so repeating until no child is left reaches every descendant,
 * however it detached. */
static void kill_subtree(void)
{
    int idle_rounds = 0;
    for (;;) {
        list_children();
        for (int i = 0; i < nkids; ++i) {
            sys_kill(-kids[i], SIG_KILL); /* its group, when it leads one */
            sys_kill(kids[i], SIG_KILL);
        }
        for (int i = 0; i < nkids; ++i) {
            int status = 0;
            i64 r;
            do
                r = sys_wait4(kids[i], &status, 0);
            while (r == -E_INTR);
            if (r > 0)
                note_reaped((int)r, status);
        }
        /* Whatever else ended meanwhile; ECHILD means nothing is left. */
        int status = 0;
        i64 r;
        while ((r = sys_wait4(-1, &status, WNOHANG_)) > 0)
            note_reaped((int)r, status);
        if (r == -E_CHILD)
            break;
        if (nkids == 0) {
            /* A child exists that the listing did not show yet (it was being
             * reparented): look again shortly. Without /proc at all this
             * could loop forever: give up after a few seconds. */
            if (++idle_rounds > 5000)
                break;
            pause_briefly();
        } else {
            idle_rounds = 0;
        }
    }
}

static int finish_killed(void)
{
    kill_subtree();
    if (!command_reported && command_pid > 0) {
        /* Killed before it ended on its own (or reaped just now). */
        report(STIRRUP_SUPERVISOR_EXITED, command_ended ? command_status : SIG_KILL, 0);
        command_reported = 1;
    }
    return 0;
}

/* Signals that do not end the supervisor (any other takes its subtree with it). */
static int is_ignored_signal(u32 sig)
{
    switch (sig) {
    case SIG_CHLD:
    case SIG_CONT:
    case SIG_WINCH:
    case SIG_URG:
    case SIG_TSTP:
    case SIG_TTIN:
    case SIG_TTOU:
    case SIG_PIPE:
        return 1;
    default:
        return 0;
    }
}

static int join_cgroup(const char* procs)
{
    const i64 fd = sys_open(procs, O_WR | O_CLOEXEC_);
    if (fd < 0)
        return (int)-fd;
    const i64 n = sys_write((int)fd, "0", 1);
    sys_close((int)fd);
    return n == 1 ? 0 : (n < 0 ? (int)-n : E_IO);
}

/* ---- starting the command ------------------------------------------------ */

static const char* env_value(char** envp, const char* name)
{
    const u64 len = str_len(name);
    for (; envp && *envp; ++envp) {
        const char* e = *envp;
        u64 i = 0;
        while (i < len && e[i] == name[i])
            ++i;
        if (i == len && e[i] == '=')
            return e + len + 1;
    }
    return 0;
}

/* execvp's search, as posix_spawnp does it: a name with '/' as is, else each
 * PATH entry (an empty one is the current directory; no PATH: /bin:/usr/bin),
 * going on past entries that do not have it. Returns the errno to report. */
static int exec_search(char** argv, char** envp)
{
    const char* file = argv[0];
    int has_slash = 0;
    for (const char* c = file; *c; ++c)
        has_slash |= *c == '/';
    if (has_slash || !*file) {
        const i64 r = sc3(__NR_execve, file, argv, envp);
        return *file ? (int)-r : E_NOENT;
    }
    const char* path = env_value(envp, "PATH");
    if (!path)
        path = "/bin:/usr/bin";
    const u64 flen = str_len(file);
    int seen_eacces = 0;
    int last = E_NOENT;
    static char candidate[4096 + 256];
    for (const char* p = path;;) {
        const char* end = p;
        while (*end && *end != ':')
            ++end;
        const u64 dlen = (u64)(end - p);
        if (dlen + 1 + flen + 1 <= sizeof candidate) {
            u64 k = 0;
            if (dlen == 0) {
                candidate[k++] = '.';
            } else {
                for (u64 i = 0; i < dlen; ++i)
                    candidate[k++] = p[i];
            }
            candidate[k++] = '/';
            for (u64 i = 0; i < flen; ++i)
                candidate[k++] = file[i];
            candidate[k] = '\0';
            const int err = (int)-sc3(__NR_execve, candidate, argv, envp);
            switch (err) {
            case E_ACCES:
                seen_eacces = 1;
                /* fallthrough */
            case E_NOENT:
            case E_NOTDIR:
            case E_NODEV:
            case E_TIMEDOUT:
            case E_STALE:
            case E_LOOP:
            case E_NAMETOOLONG:
                last = err;
                break;
            default:
                return err;
            }
        }
        if (!*end)
            break;
        p = end + 1;
    }
    return seen_eacces ? E_ACCES : last;
}

struct spawn_args {
    const char* cwd;
    char** argv;
    char** envp;
    i32 error; /* written by the child: it shares our memory until it execs */
};

/* The child's stack: it runs here only until it execs or exits. */
static char child_stack[64 * 1024] __attribute__((aligned(16)));

static int spawn_child(void* p)
{
    struct spawn_args* a = p;
    sc0(__NR_setsid);
    const u64 none = 0;
    sc4(__NR_rt_sigprocmask, SIG_SETMASK_, &none, 0, 8);
    if (a->cwd) {
        const i64 c = sc1(__NR_chdir, a->cwd);
        if (c < 0) {
            a->error = (i32)-c;
            return 127;
        }
    }
    a->error = exec_search(a->argv, a->envp);
    return 127;
}

/* Starts the command as posix_spawn would (a vfork on a stack of its own, so
 * that no page is copied and an exec failure comes back in our memory): it
 * leads a session of its own (as it did before the supervisor existed), with
 * an empty signal mask (dispositions are already the defaults: the host
 * reset them and this program sets no handler), in `cwd`. Returns the pid,
 * or -errno. */
static i64 spawn_command(const char* cwd, char** argv, char** envp)
{
    struct spawn_args a = {cwd, argv, envp, 0};
    const i64 pid = clone_vfork(spawn_child, &a, child_stack + sizeof child_stack);
    if (pid < 0)
        return pid;
    if (a.error) {
        int status;
        while (sys_wait4((int)pid, &status, 0) == -E_INTR) {
        }
        return -(i64)a.error;
    }
    return pid;
}

/* ---- the supervisor ------------------------------------------------------- */

static int supervise(int argc, char** argv, char** envp)
{
    const char* cwd = 0;
    const char* cgroup = 0;
    int i = 1;
    int dashes = 0;
    for (; i < argc; ++i) {
        if (str_eq(argv[i], "--")) {
            ++i;
            dashes = 1;
            break;
        }
        if (str_eq(argv[i], "--cwd") && i + 1 < argc)
            cwd = argv[++i];
        else if (str_eq(argv[i], "--cgroup") && i + 1 < argc)
            cgroup = argv[++i];
        else
            break;
    }
    if (!dashes || i >= argc) {
        report(STIRRUP_SUPERVISOR_SETUP_FAILED, E_INVAL, STIRRUP_SUPERVISOR_STEP_USAGE);
        return 2;
    }
    char** command = argv + i;

    sc5(__NR_prctl, PR_SET_NAME_, "stirrup-superv", 0, 0, 0);
    sc5(__NR_prctl, PR_SET_CHILD_SUBREAPER_, 1, 0, 0, 0);
    /* The command gets stdin, stdout and stderr, nothing else: not the
     * channel, nor a descriptor the host leaked without CLOEXEC. */
    sc3(__NR_fcntl, STIRRUP_SUPERVISOR_CHANNEL_FD, F_SETFD_, FD_CLOEXEC_);
#ifdef __NR_close_range
    sc3(__NR_close_range, STIRRUP_SUPERVISOR_CHANNEL_FD + 1, ~0U, 1U << 2 /* CLOSE_RANGE_CLOEXEC */);
#endif

    /* Every signal is read from a signalfd: SIGCHLD to reap, the
     * terminating ones to kill the subtree before leaving. */
    const u64 all = ~0UL;
    sc4(__NR_rt_sigprocmask, SIG_BLOCK_, &all, 0, 8);
    const i64 sfd = sc4(__NR_signalfd4, -1, &all, 8, SFD_CLOEXEC_ | SFD_NONBLOCK_);
    if (sfd < 0) {
        report(STIRRUP_SUPERVISOR_SETUP_FAILED, (i32)-sfd, STIRRUP_SUPERVISOR_STEP_SIGNALS);
        return 1;
    }

    if (cgroup) {
        const int rc = join_cgroup(cgroup);
        if (rc != 0) {
            report(STIRRUP_SUPERVISOR_SETUP_FAILED, rc, STIRRUP_SUPERVISOR_STEP_CGROUP);
            return 1;
        }
    }

    const i64 pid = spawn_command(cwd, command, envp);
    if (pid < 0) {
        report(STIRRUP_SUPERVISOR_SPAWN_FAILED, (i32)-pid, 0);
        return 0;
    }
    command_pid = (int)pid;
    report(STIRRUP_SUPERVISOR_STARTED, command_pid, 0);

    /* Let go of the command's output pipes: the host reads them until the
     * last process holding them closes them, and that must not be us. Our
     * stdin is /dev/null, and we never write to stdout or stderr. */
    sys_dup3(0, 1);
    sys_dup3(0, 2);

    for (;;) {
        struct pollfd_ fds[2] = {
            {STIRRUP_SUPERVISOR_CHANNEL_FD, POLLIN_, 0},
            {(i32)sfd, POLLIN_, 0},
        };
        const i64 ready = sys_ppoll(fds, 2, 0);
        if (ready == -E_INTR)
            continue;
        if (ready < 0)
            return finish_killed();
        /* Data or end of file: either way, the host wants everything gone. */
        if (fds[0].revents)
            return finish_killed();
        if (!fds[1].revents)
            continue;
        struct signalfd_siginfo_ info;
        int reap = 0;
        while (sys_read((int)sfd, &info, sizeof info) == (i64)sizeof info) {
            if (info.ssi_signo == SIG_CHLD)
                reap = 1;
            else if (!is_ignored_signal(info.ssi_signo))
                return finish_killed();
        }
        if (!reap)
            continue;
        int status = 0;
        i64 r;
        while ((r = sys_wait4(-1, &status, WNOHANG_)) > 0)
            note_reaped((int)r, status);
        const int children_left = r == 0;
        if (command_ended && !command_reported) {
            report(STIRRUP_SUPERVISOR_EXITED, command_status, children_left);
            command_reported = 1;
        }
        if (command_ended && !children_left)
            return 0;
    }
}

#ifdef STIRRUP_SUPERVISOR_FREESTANDING
static void sys_exit(int code)
{
    for (;;)
        sc1(__NR_exit_group, code);
}

/* Called by _start with the initial stack: argc, argv..., 0, envp..., 0. */
__attribute__((used, noreturn)) void supervisor_start(i64* sp);
__attribute__((used, noreturn)) void supervisor_start(i64* sp)
{
    const int argc = (int)sp[0];
    char** argv = (char**)(sp + 1);
    char** envp = argv + argc + 1;
    sys_exit(supervise(argc, argv, envp));
    __builtin_unreachable();
}
#else
extern char** environ;
int main(int argc, char** argv)
{
    return supervise(argc, argv, environ);
}
#endif
