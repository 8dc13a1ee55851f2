// Program execution, process tracing and cross-process memory access, and the process lifecycle
// (scheduler tracepoints).
// Argument names follow the Linux man pages. Text here is rendered by EventDocs into `docs/events/`.

private enum Proc {
    static let execReturns = """
        On success the call does not return to the old program; moonwatch reports ret 0. On \
        failure -errno (-ENOENT, -EACCES, -ENOEXEC, -E2BIG, -ETXTBSY, ...), and the caller keeps running.
        """
    static let noExitRead = """
        After a successful exec the caller's memory is gone; the exit reads are what the new image \
        received, taken when the kernel has switched to it (sched_process_exec): pathname as the kernel \
        used it, argv from the new program's stack. changed compares them with the entry reads. For \
        execveat with a directory descriptor and a relative path the kernel names the program \
        /dev/fd/DIRFD/PATH, and that is what the exit read shows. A failed exec is re-read from the \
        caller's memory as other calls are.
        """
    static let execRace = """
        Another thread of the process can rewrite pathname or argv between moonwatch's entry read \
        and the kernel's copy (the kernel copies them before it stops the other threads). Equal reads prove \
        nothing: a value can be flipped and flipped back between them.
        """
    static let execLimits = """
        argv and envp are cut to the probe's capture limits, so very long command lines and \
        environments are incomplete.
        """
    static let interpreter = """
        The program that ends up running can differ from pathname: a #! script runs its \
        interpreter, and binfmt_misc handlers can step in.
        """
    static let pathname = "Program to run, as the caller wrote it (not resolved). Read at entry and again at exit."
    static let argv = "Argument strings, argv[0] first. Read at entry and again at exit."
    static let envp = """
        Environment strings, NAME=value. Read at entry; from the new image's stack instead when the entry \
        read failed. May be NULL, which Linux treats as empty.
        """
    static let program = """
        The file the kernel executed (for a #! script, its interpreter), collected from the new image: path, \
        inode, device and filesystem type, and whether it is deleted (a memfd, an unlinked file). Absent when \
        the exec failed.
        """
    static let stdio = """
        What descriptors 0, 1 and 2 of the new program refer to, collected from its descriptor table: for \
        each, fd, type (file, socket, pipe, anon_inode, closed), path or pipe/socket name, inode, and for a \
        socket its family, local and remote address and, for AF_UNIX, its peer's inode. Absent when the exec \
        failed.
        """
}

/// The permission pidfd_getfd, process_vm_readv and process_vm_writev share with ptrace attach.
enum PtraceAccess {
    static let needed = """
        The caller needs the access a ptrace attach needs (PTRACE_MODE_ATTACH_REALCREDS): in short, the \
        same real user as a dumpable target, or CAP_SYS_PTRACE, within Yama's limits.
        """
    static let yama = """
        The check is the ptrace attach check, so kernel.yama.ptrace_scope governs this call too; ret tells \
        an attempt from a success.
        """
}

/// process_vm_readv and process_vm_writev share their arguments and most of their limits.
private enum VM {
    static let notDecoded = """
        The iovec arrays are not decoded yet: local_iov and remote_iov are reported as addresses, so the \
        event shows whose memory was accessed and how much (ret), not where.
        """
    static let errors = """
        -EFAULT for memory that cannot be accessed, -EINVAL for flags other than 0 or more than 1024 \
        entries, -ENOMEM, -EPERM when access is refused, -ESRCH when there is no process pid
        """
    static func args(local: String, remote: String) -> [ArgSpec] {
        [
            ArgSpec("pid", "pid_t", .int, .K, .entry, "Process ID of the target, in the caller's PID namespace."),
            ArgSpec("local_iov", "const struct iovec *", .pointer, .K, .entry,
                    "Address of the caller's iovec array (the \(local)). Not decoded yet: only the address is reported."),
            ArgSpec("liovcnt", "unsigned long", .ulong, .K, .entry, "Entries in local_iov, at most 1024 (IOV_MAX)."),
            ArgSpec("remote_iov", "const struct iovec *", .pointer, .K, .entry,
                    """
                    Address of the iovec array, in the caller's memory, listing the \(remote). Not decoded yet: \
                    only the address is reported.
                    """),
            ArgSpec("riovcnt", "unsigned long", .ulong, .K, .entry, "Entries in remote_iov, at most 1024 (IOV_MAX)."),
            ArgSpec("flags", "unsigned long", .ulong, .K, .entry, "Unused; must be 0."),
        ]
    }
    static let iovNote = """
        Without the iovec arrays the event cannot say which addresses in the target were touched. \
        Payload bytes would not be captured in any case.
        """
    static let pidNote = """
        pid is as the caller passed it, in its own PID namespace; process.pid and the IDs of other events \
        are those of the initial namespace, so for a caller inside a container the numbers can differ.
        """
    static let compat = """
        32-bit callers (process.compat) pass arrays of compat iovecs (two 32-bit values each), and the counts \
        and flags are 32 bits wide.
        """
}

extension Catalogue {
    static let process: [EventSpec] = [
        EventSpec(
            name: "execve",
            source: .syscall(x86_64: 59, ia32: 11),
            category: .process,
            summary: "Replace the calling process's program with a new one.",
            description: """
                Loads the program at pathname and runs it in the calling process with the arguments argv \
                and the environment envp. moonwatch reads pathname and argv (as a string array) at entry and \
                again at exit, and envp at entry only. On success the process keeps its pid and its descriptors \
                without close-on-exec, but gets a new memory image, comm and executable.
                """,
            returns: Proc.execReturns,
            args: [
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both, Proc.pathname),
                ArgSpec("argv", "char *const []", .argv, [.U, .TOCTOU], .both, Proc.argv),
                ArgSpec("envp", "char *const []", .argv, [.U, .OPT], .entry, Proc.envp),
                ArgSpec("program", "(collected)", .program, [.K, .OPT], .exit, Proc.program),
                ArgSpec("stdio", "(collected)", .stdio, [.K, .OPT], .exit, Proc.stdio),
            ],
            useCase: """
                The backbone of process detections: shells started by network services, interpreters given \
                inline code (-c, -e), programs run from /tmp, /dev/shm or /proc/self/fd (fileless), LD_PRELOAD in \
                envp, and the last step of a reverse shell after a socket was duplicated onto 0, 1 and 2.
                """,
            notes: [
                Proc.noExitRead,
                Proc.execRace,
                Proc.execLimits,
                Proc.interpreter,
            ],
            related: ["execveat", "process_fork", "process_exit", "memfd_create", "dup2"]),

        EventSpec(
            name: "execveat",
            source: .syscall(x86_64: 322, ia32: 358),
            category: .process,
            summary: "Run a new program named relative to a directory descriptor, or by descriptor.",
            description: """
                Like execve, but a relative pathname is resolved against dirfd (AT_FDCWD for the current \
                directory), and with AT_EMPTY_PATH in flags and an empty pathname the program is the file dirfd \
                itself; the C library's fexecve uses this form. moonwatch decodes pathname, argv and envp as for \
                execve and reports dirfd and flags as integers.
                """,
            returns: Proc.execReturns,
            args: [
                ArgSpec("dirfd", "int", .int, .K, .entry,
                        "Directory for a relative pathname, the file to run with AT_EMPTY_PATH, or AT_FDCWD (-100)."),
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both,
                        "Program path, empty with AT_EMPTY_PATH. Read at entry and again at exit."),
                ArgSpec("argv", "char *const []", .argv, [.U, .TOCTOU], .both, Proc.argv),
                ArgSpec("envp", "char *const []", .argv, [.U, .OPT], .entry, Proc.envp),
                ArgSpec("flags", "int", .int, .K, .entry,
                        "AT_EMPTY_PATH (0x1000) and/or AT_SYMLINK_NOFOLLOW (0x100), as an integer."),
                ArgSpec("program", "(collected)", .program, [.K, .OPT], .exit, Proc.program),
                ArgSpec("stdio", "(collected)", .stdio, [.K, .OPT], .exit, Proc.stdio),
            ],
            useCase: """
                Fileless execution from memory: memfd_create, write the payload, then execveat(memfd, "", \
                argv, envp, AT_EMPTY_PATH). An execveat whose dirfd came from memfd_create, or any AT_EMPTY_PATH \
                run of a file that is not on disk, is a high-signal event.
                """,
            notes: [
                """
                When the program is given by descriptor, the event has no path: identify the file through the \
                memfd_create or openat that returned dirfd in the same process.
                """,
                Proc.noExitRead,
                Proc.execRace,
                Proc.execLimits,
            ],
            related: ["execve", "memfd_create", "openat", "process_fork"]),

        EventSpec(
            name: "ptrace",
            source: .syscall(x86_64: 101, ia32: 26),
            category: .debugging,
            summary: "Observe and control another process: read and write its memory and registers.",
            description: """
                Lets a tracer attach to a tracee and inspect or change its memory, registers and signal \
                handling; debuggers and strace are built on it. request selects the operation (PTRACE_TRACEME 0, \
                PTRACE_PEEKTEXT 1, PTRACE_PEEKDATA 2, PTRACE_POKETEXT 4, PTRACE_POKEDATA 5, PTRACE_CONT 7, \
                PTRACE_GETREGS 12, PTRACE_SETREGS 13, PTRACE_ATTACH 16, PTRACE_DETACH 17, PTRACE_SEIZE 0x4206, \
                among others) and pid the target thread. addr and data are reported as raw integers whose meaning \
                depends on the request.
                """,
            returns: """
                0 or a request-specific value on success, -errno on failure (-EPERM when the attach is not \
                allowed, -ESRCH when the target does not exist, is not traced or is not stopped). At the system \
                call level the PEEK requests store the word at *data and return 0; returning the word is done by \
                the C library wrapper.
                """,
            args: [
                ArgSpec("request", "long", .long, .K, .entry, "Operation, a PTRACE_* number."),
                ArgSpec("pid", "pid_t", .int, .K, .entry, "Thread ID of the target."),
                ArgSpec("addr", "void *", .pointer, .K, .entry,
                        "Address in the target for PEEK and POKE requests, otherwise request-specific. Not read."),
                ArgSpec("data", "void *", .pointer, .K, .entry,
                        """
                        Request-specific: the word to store for POKE requests, a signal number for CONT or DETACH, \
                        or the address of a buffer in the caller. Not read.
                        """),
            ],
            useCase: """
                Process injection and credential theft: PTRACE_ATTACH or PTRACE_SEIZE on a process the caller \
                does not normally debug, followed by POKETEXT, POKEDATA or SETREGS to plant and run code, or by \
                PEEKDATA to lift secrets (ssh-agent, browsers, password managers). PTRACE_TRACEME outside a \
                debugger's child is a common anti-debugging trick.
                """,
            notes: [
                """
                Buffers that addr or data point to (register sets, siginfo, iovecs) are not read; only the integers \
                are reported.
                """,
                """
                Yama (kernel.yama.ptrace_scope) and capabilities decide whether an attach succeeds; ret tells an \
                attempt from a success.
                """,
                """
                Memory can also be read and changed without ptrace: process_vm_readv and process_vm_writev are \
                their own events, and /proc/PID/mem shows as an open, openat or openat2 of that path (the reads \
                and writes on it are not in the catalogue). pidfd_getfd takes descriptors under the same \
                permission check.
                """,
            ],
            related: ["process_vm_writev", "process_vm_readv", "pidfd_getfd", "process_fork", "execve", "openat"]),
        EventSpec(
            name: "process_vm_readv",
            source: .syscall(x86_64: 310, ia32: 347),
            category: .debugging,
            summary: "Read another process's memory directly, without attaching to it.",
            description: """
                Copies data out of the memory of process pid, from the ranges listed in remote_iov (riovcnt \
                entries), into the caller's buffers listed in local_iov (liovcnt entries), in one kernel copy, \
                without attaching to the target or stopping it. \(PtraceAccess.needed) \(VM.notDecoded)
                """,
            returns: """
                Number of bytes read, less than requested when part of a remote range could not be read; -errno \
                when nothing was (\(VM.errors)).
                """,
            args: VM.args(local: "buffers that receive the data", remote: "ranges to read in the target"),
            useCase: """
                Theft of secrets from memory: keys, tokens and passwords read out of ssh-agent, browsers, \
                password managers or another user's processes, with no ptrace attach to give it away. Injection \
                tools also read a target first to find what to overwrite with process_vm_writev. Debuggers, \
                profilers and crash reporters read other processes legitimately, so judge by who reads whom.
                """,
            notes: [VM.iovNote, VM.pidNote, PtraceAccess.yama, VM.compat],
            related: ["process_vm_writev", "ptrace", "pidfd_getfd"]),

        EventSpec(
            name: "process_vm_writev",
            source: .syscall(x86_64: 311, ia32: 348),
            category: .debugging,
            summary: "Write into another process's memory directly, without attaching to it.",
            description: """
                Copies data from the caller's buffers listed in local_iov (liovcnt entries) into the memory of \
                process pid, at the ranges listed in remote_iov (riovcnt entries), in one kernel copy, without \
                attaching to the target or stopping it. \(PtraceAccess.needed) Writes obey the target's page protections: a \
                read-only page (program code, read-only data) cannot be written this way and gives -EFAULT, \
                unlike PTRACE_POKETEXT or a write to /proc/PID/mem. \(VM.notDecoded)
                """,
            returns: """
                Number of bytes written, less than requested when part of a remote range could not be written; \
                -errno when nothing was (\(VM.errors)).
                """,
            args: VM.args(local: "data to write", remote: "ranges to write in the target"),
            useCase: """
                Code injection without ptrace: a payload, a function pointer, a GOT entry or a return address \
                written into another process leaves no attach, no stop and no PTRACE_POKE* request. Few programs \
                write into others legitimately (MPI libraries moving data between ranks, some debuggers); a writer \
                outside them, or any writer into a process of another program, deserves attention.
                """,
            notes: [
                VM.iovNote,
                """
                Writes to /proc/PID/mem reach the same memory and ignore page protections; they appear as an open, \
                openat or openat2 of that path, and the writes themselves are not in the catalogue.
                """,
                VM.pidNote, PtraceAccess.yama, VM.compat,
            ],
            related: ["process_vm_readv", "ptrace", "pidfd_getfd", "openat"]),


        EventSpec(
            name: "process_fork",
            source: .tracepoint("sched_process_fork"),
            category: .process,
            summary: "A new process or thread was created.",
            description: """
                Emitted from the scheduler tracepoint sched_process_fork each time a task is created, by \
                fork, vfork, clone or clone3, including kernel threads. The process context is the parent, the \
                thread that made the call. child_pid is the new task's process ID (thread group ID) and child_tid \
                its thread ID: a new process has child_pid equal to child_tid, a new thread has child_pid equal to \
                the parent's pid.
                """,
            returns: "Not a system call: ret is always 0.",
            args: [
                ArgSpec("child_pid", "pid_t", .int, .K, .entry, "Process ID (thread group ID) of the new task."),
                ArgSpec("child_tid", "pid_t", .int, .K, .entry, "Thread ID of the new task."),
            ],
            useCase: """
                Builds the process tree that other detections depend on: which service spawned a shell, fork \
                bombs, double forks that detach a daemon from its parent. Paired with execve it separates \
                fork-then-exec from a plain exec.
                """,
            notes: [
                """
                The event is emitted before the child first runs; whatever the child does next (exec, exit) arrives \
                as its own events.
                """,
                """
                IDs are those of the initial PID namespace, like the ones in process; a process in a container sees \
                other numbers for itself.
                """,
                """
                The clone flags are not reported: whether the child shares memory, descriptors or namespaces with \
                the parent is not visible, apart from the thread case recognizable through child_pid.
                """,
            ],
            related: ["process_exit", "execve", "execveat", "ptrace"]),

        EventSpec(
            name: "process_exit",
            source: .tracepoint("sched_process_exit"),
            category: .process,
            summary: "A thread exited.",
            description: """
                Emitted from the scheduler tracepoint sched_process_exit when a thread finishes, whether it \
                called exit or exit_group, returned from main or was killed by a signal. The process context is \
                the exiting thread. moonwatch splits the kernel's wait-style exit code into exit_code, the 0-255 \
                status given to exit, and signal, the number of the signal that killed the thread.
                """,
            returns: "Not a system call: ret is always 0.",
            args: [
                ArgSpec("exit_code", "int", .int, .K, .entry,
                        "Exit status, 0-255; 0 when the thread was killed by a signal."),
                ArgSpec("signal", "int", .int, .K, .entry,
                        "Number of the terminating signal, or 0 when the thread exited normally."),
            ],
            useCase: """
                Closes process lifetimes in the tree: short-lived helpers that run and vanish, crashes \
                (SIGSEGV, SIGABRT) in services that can betray exploitation attempts, and processes killed with \
                SIGKILL by other tools or the OOM killer.
                """,
            notes: [
                """
                It fires once per thread: a process with N threads yields N events. The process is gone when its \
                last thread exits; process.tid == process.pid marks the thread-group leader, which is not \
                necessarily the last to go.
                """,
                "Reaping by the parent (wait) is not reported, and neither is whether a core dump was written.",
            ],
            related: ["process_fork", "execve"]),
    ]
}
