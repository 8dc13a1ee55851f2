// Descriptor and file system calls, the memory-backed descriptors (memfd_create, userfaultfd), and
// pidfd_getfd, which copies a descriptor out of another process.
// Argument names follow the Linux man pages. Text here is rendered by EventDocs into `docs/events/`.

private enum Files {
    static func toctou(_ arg: String) -> String {
        """
        \(arg) is read at entry and again at exit, and `changed` names it when the two reads differ. The kernel \
        copies the string between the two reads, so neither is guaranteed to be what it used; a difference \
        shows the memory was rewritten during the call, and equal reads prove nothing because a racing thread \
        can flip the value and flip it back.
        """
    }
    static let entryFault = SharedNotes.entryFault
    static let implicitClose = """
        Descriptors closed implicitly are not reported: by close_range(2), by exec for \
        close-on-exec descriptors, by dup2 or dup3 onto an open newfd, or when the process exits.
        """
    static let fcntlDup = """
        fcntl(F_DUPFD) and fcntl(F_DUPFD_CLOEXEC) also duplicate descriptors. They are reported \
        as fcntl (cmd 0 or 1030, the new descriptor in ret), not as this event.
        """
    static let openFlags = """
        O_* flags: access mode in the low two bits, plus O_CREAT, O_TRUNC, O_APPEND, O_TMPFILE, \
        O_CLOEXEC, ..., as an integer.
        """
    static let openMode = "Permission bits for a new file; used only with O_CREAT or O_TMPFILE, ignored otherwise."
    static let pathname = "Path to open, as the caller wrote it. Read at entry and again at exit."
    static let asPassed = """
        The path is reported as passed: relative paths, symbolic links and .. components are not \
        resolved. Rebuild relative paths from the process's working directory or the earlier event that \
        produced dirfd.
        """
    static let openDoors = """
        A file can be opened by path through four system calls, each its own event: open, creat, \
        openat and openat2. glibc's open() has used openat on x86_64 since version 2.26, so most programs \
        show up as openat; musl, static tools and direct system calls use open, and glibc's creat() makes \
        the creat call. A detection keyed on paths should select all four.
        """
    /// What every open-by-path event says about its pathname.
    static let pathNotes = [openDoors, asPassed, toctou("pathname"), entryFault]
    static let compatOpen = """
        32-bit C libraries add O_LARGEFILE (0x8000) to flags themselves, so 32-bit callers \
        (process.compat) usually show it; for 64-bit callers the kernel implies it and it is absent.
        """
}

extension Catalogue {
    static let ipcAndFiles: [EventSpec] = [
        EventSpec(
            name: "close",
            source: .syscall(x86_64: 3, ia32: 6),
            category: .file,
            summary: "Close a file descriptor.",
            description: """
                Removes fd from the calling process's descriptor table. The file, socket or pipe behind it \
                is released only when its last reference goes away, so closing one copy of a duplicated \
                descriptor leaves the others working.
                """,
            returns: """
                0 on success, or -errno (-EBADF when fd was not open). On Linux the descriptor is released even \
                when -EINTR or -EIO is returned, so the number is free again either way.
                """,
            args: [
                ArgSpec("fd", "int", .int, .K, .entry, "Descriptor to close."),
            ],
            useCase: """
                Descriptor bookkeeping: mapping descriptor numbers to the sockets and files behind them needs \
                to know when a number is freed and may be reused. Closing 0, 1 or 2 just before a socket is \
                duplicated onto them is a shell-redirection pattern.
                """,
            notes: [
                Files.implicitClose,
            ],
            related: ["dup", "dup2", "dup3", "fcntl", "openat"]),

        EventSpec(
            name: "dup",
            source: .syscall(x86_64: 32, ia32: 41),
            category: .file,
            summary: "Duplicate a file descriptor onto the lowest free number.",
            description: """
                Creates a new descriptor for the same open file description as oldfd, sharing its file \
                offset and status flags. The new descriptor is the lowest number not in use, and its close-on-exec \
                flag is clear.
                """,
            returns: "The new descriptor, or -errno (-EBADF, -EMFILE).",
            args: [
                ArgSpec("oldfd", "int", .int, .K, .entry, "Descriptor to duplicate."),
            ],
            useCase: """
                Hand-made redirection: after 0, 1 or 2 has been closed, dup of a socket lands on that standard \
                descriptor, an older way of wiring a shell to a network connection.
                """,
            notes: [
                Files.fcntlDup,
            ],
            related: ["dup2", "dup3", "fcntl", "close", "socket"]),

        EventSpec(
            name: "dup2",
            source: .syscall(x86_64: 33, ia32: 63),
            category: .file,
            summary: "Duplicate a file descriptor onto a chosen number.",
            description: """
                Makes newfd refer to the same open file description as oldfd. If newfd was open it is \
                closed first, silently and with any error ignored. If oldfd equals newfd and is valid, nothing \
                happens and newfd is returned.
                """,
            returns: "newfd, or -errno (-EBADF, -EBUSY in a race with open, -EINTR).",
            args: [
                ArgSpec("oldfd", "int", .int, .K, .entry, "Descriptor to duplicate."),
                ArgSpec("newfd", "int", .int, .K, .entry, "Number the duplicate should get."),
            ],
            useCase: """
                The core of a reverse or bind shell: dup2(sock, 0), dup2(sock, 1), dup2(sock, 2), then execve \
                of a shell. A signature can remember the descriptors returned by socket, accept and accept4 per \
                process and fire when one of them is duplicated onto 0, 1 or 2.
                """,
            notes: [
                "The file previously open on newfd is closed implicitly; no close event is emitted for it.",
                """
                dup3, and fcntl(F_DUPFD) once the wanted number has been closed, reach the same result: watch dup3 \
                and fcntl as well.
                """,
            ],
            related: ["dup", "dup3", "fcntl", "close", "socket", "connect", "execve"]),

        EventSpec(
            name: "dup3",
            source: .syscall(x86_64: 292, ia32: 330),
            category: .file,
            summary: "Duplicate a file descriptor onto a chosen number, with flags.",
            description: """
                Like dup2, but flags may contain O_CLOEXEC to set close-on-exec on newfd, and oldfd equal \
                to newfd is an error (-EINVAL) instead of a no-op.
                """,
            returns: "newfd, or -errno (-EBADF, -EINVAL, -EBUSY, -EINTR).",
            args: [
                ArgSpec("oldfd", "int", .int, .K, .entry, "Descriptor to duplicate."),
                ArgSpec("newfd", "int", .int, .K, .entry, "Number the duplicate should get."),
                ArgSpec("flags", "int", .int, .K, .entry, "0 or O_CLOEXEC (0x80000), as an integer."),
            ],
            useCase: """
                The same redirection patterns as dup2: a socket duplicated onto standard input, output or \
                error shortly before an exec of a shell.
                """,
            notes: [
                "The file previously open on newfd is closed implicitly; no close event is emitted for it.",
                Files.fcntlDup,
            ],
            related: ["dup2", "dup", "fcntl", "close", "execve"]),
        EventSpec(
            name: "fcntl",
            source: .syscall(x86_64: 72, ia32: 55, ia32Aliases: [221]),
            category: .file,
            summary: "Operate on a file descriptor: duplicate it, change its flags, lock, lease or seal the file.",
            description: """
                Performs command cmd on descriptor fd, with a third argument whose meaning depends on cmd: \
                an integer, or the address of a structure. F_DUPFD (0) and F_DUPFD_CLOEXEC (1030) duplicate fd \
                onto the lowest free number not below arg, a dup under another name; F_GETFD (1) and F_SETFD (2) \
                read and set close-on-exec; F_GETFL (3) and F_SETFL (4) the status flags such as O_NONBLOCK and \
                O_APPEND; F_GETLK, F_SETLK and F_SETLKW (5 to 7) and the open file description locks F_OFD_* (36 \
                to 38) take a struct flock; others set the owner and signal of I/O notifications (F_SETOWN 8, \
                F_SETSIG 10), leases (F_SETLEASE 1024), directory notification (F_NOTIFY 1026), pipe sizes \
                (F_SETPIPE_SZ 1031) and memfd seals (F_ADD_SEALS 1033). moonwatch reports the three values as \
                integers; a structure arg points to is not read.
                """,
            returns: """
                Depends on cmd: the new descriptor for F_DUPFD and F_DUPFD_CLOEXEC; the flags for F_GETFD and \
                F_GETFL; the owner, signal, lease, pipe size or seals for the matching F_GET* commands; 0 for the \
                rest. -errno on failure (-EBADF, -EINVAL for an unknown cmd or an arg out of range, -EMFILE, \
                -EAGAIN or -EACCES for a conflicting lock, -EPERM, ...).
                """,
            args: [
                ArgSpec("fd", "int", .int, .K, .entry, "Descriptor the command applies to."),
                ArgSpec("cmd", "int", .int, .K, .entry,
                        "Command, an F_* number (F_DUPFD 0, F_SETFD 2, F_SETFL 4, F_DUPFD_CLOEXEC 1030, ...)."),
                ArgSpec("arg", "unsigned long", .ulong, .K, .entry,
                        """
                        The optional third argument (the man page's "..."), as the raw register: the lowest \
                        acceptable descriptor for F_DUPFD, new flags for F_SETFL, otherwise an address or unused.
                        """),
            ],
            useCase: """
                Descriptor redirection without dup: after close(0), fcntl(sock, F_DUPFD, 0) puts a socket on \
                standard input just as dup would, so reverse-shell detections that follow dup, dup2 and dup3 must \
                follow F_DUPFD and F_DUPFD_CLOEXEC too. F_ADD_SEALS on a memfd and F_SETFL dropping O_APPEND from \
                a log are other commands worth a look. Every program calls fcntl constantly (F_GETFL, F_SETFL, \
                F_SETFD), so select it with a filter on cmd, such as `filter = { args = { cmd = { 0, 1030 } } }`, \
                and only those commands leave the kernel.
                """,
            notes: [
                """
                On ia32 two numbers lead here: fcntl (55) and fcntl64 (221), which 32-bit C libraries use because \
                it also accepts the 64-bit lock commands (F_GETLK64, F_SETLK64, F_SETLKW64: 12 to 14). Both are \
                reported as this event with process.compat set; a compat arg is 32 bits wide.
                """,
                """
                A duplicate made by F_DUPFD is the same open file description as fd: whatever fd refers to \
                (socket, pipe, file) is what the new number, ret, refers to.
                """,
            ],
            related: ["dup", "dup2", "dup3", "close", "memfd_create"]),


        EventSpec(
            name: "openat",
            source: .syscall(x86_64: 257, ia32: 295),
            category: .file,
            summary: "Open or create a file, relative to a directory descriptor.",
            description: """
                Opens pathname and returns a new descriptor. A relative pathname is resolved against dirfd, \
                or against the current directory when dirfd is AT_FDCWD (-100); an absolute one ignores dirfd. \
                moonwatch reads pathname at entry and again at exit, and reports flags (O_* bits) and mode as \
                integers.
                """,
            returns: """
                The new file descriptor, or -errno (-ENOENT, -EACCES, -EEXIST with O_CREAT|O_EXCL, -ELOOP, \
                -EMFILE, ...).
                """,
            args: [
                ArgSpec("dirfd", "int", .int, .K, .entry,
                        "Directory for a relative pathname, or AT_FDCWD (-100) for the current directory."),
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both, Files.pathname),
                ArgSpec("flags", "int", .int, .K, .entry, Files.openFlags),
                ArgSpec("mode", "mode_t", .uint, .K, .entry, Files.openMode),
            ],
            useCase: """
                Access to sensitive files (/etc/shadow, SSH keys, /proc/PID/mem, /etc/ld.so.preload opened for \
                writing), executables dropped in /tmp or /dev/shm, and O_TMPFILE files that never get a name. The \
                entry and exit reads of pathname expose a path swapped after a check has looked at it.
                """,
            notes: Files.pathNotes + [Files.compatOpen, SharedNotes.ioUring("IORING_OP_OPENAT", SharedNotes.ioUringPath + """
                 flags then include O_LARGEFILE (0x8000), which the kernel adds for 64-bit callers.
                """)],
            related: ["open", "openat2", "creat", "close", "memfd_create", "execve"]),
        EventSpec(
            name: "open",
            source: .syscall(x86_64: 2, ia32: 5),
            category: .file,
            summary: "Open or create a file by path, relative to the current directory.",
            description: """
                The original open call: opens pathname and returns a new descriptor, resolving a relative \
                pathname against the current directory. It does what openat does with dirfd AT_FDCWD. moonwatch \
                reads pathname at entry and again at exit, and reports flags (O_* bits) and mode as integers.
                """,
            returns: """
                The new file descriptor, or -errno (-ENOENT, -EACCES, -EEXIST with O_CREAT|O_EXCL, -ELOOP, \
                -EMFILE, ...).
                """,
            args: [
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both, Files.pathname),
                ArgSpec("flags", "int", .int, .K, .entry, Files.openFlags),
                ArgSpec("mode", "mode_t", .uint, .K, .entry, Files.openMode),
            ],
            useCase: """
                The same files as openat: secrets read (/etc/shadow, SSH keys, /proc/PID/mem), persistence and \
                preload files written, payloads dropped in /tmp or /dev/shm. Programs built on musl (Alpine \
                containers), static tools, shellcode and 32-bit code through int $0x80 open files with this call, \
                so a detection that watches only openat misses them.
                """,
            notes: Files.pathNotes + [Files.compatOpen],
            related: ["openat", "openat2", "creat", "close"]),

        EventSpec(
            name: "creat",
            source: .syscall(x86_64: 85, ia32: 8),
            category: .file,
            summary: "Create a file, or truncate an existing one, and open it for writing.",
            description: """
                The same as open with flags O_CREAT|O_WRONLY|O_TRUNC: creates pathname with the permission \
                bits in mode (less the umask) when it does not exist, cuts it to zero length when it does, and \
                returns a write-only descriptor. moonwatch reads pathname at entry and again at exit and reports \
                mode as an integer.
                """,
            returns: """
                The new file descriptor, or -errno (-EACCES, -EISDIR, -ETXTBSY when the file is a program being \
                run, -EROFS, -ENOENT when a directory on the path is missing, -EMFILE, ...).
                """,
            args: [
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both,
                        "Path to create or truncate, as the caller wrote it. Read at entry and again at exit."),
                ArgSpec("mode", "mode_t", .uint, .K, .entry, "Permission bits for the file if it is created."),
            ],
            useCase: """
                Every creat is a write: files dropped or overwritten, including the truncation of logs and \
                history files to hide activity. glibc's creat() makes this call on x86_64, so ordinary programs \
                that use creat appear here and not as openat.
                """,
            notes: Files.pathNotes,
            related: ["open", "openat", "openat2", "close"]),

        EventSpec(
            name: "openat2",
            source: .syscall(x86_64: 437, ia32: 437),
            category: .file,
            summary: "Open or create a file, relative to a directory descriptor, with path-resolution limits.",
            description: """
                The extensible openat (Linux 5.6 and later). dirfd and pathname work as for openat; flags, \
                mode and resolve arrive in a struct open_how of size bytes. resolve holds RESOLVE_* limits on how \
                pathname may be walked: RESOLVE_BENEATH and RESOLVE_IN_ROOT keep it below dirfd, \
                RESOLVE_NO_SYMLINKS and RESOLVE_NO_MAGICLINKS refuse symbolic links or /proc-style magic links, \
                RESOLVE_NO_XDEV refuses to cross mount points, RESOLVE_CACHED refuses to block. Unlike openat, \
                unknown flags are refused rather than ignored. moonwatch reads pathname at entry and again at exit. \
                The structure is not decoded yet: how is reported as an address only, so the open flags, mode and \
                resolve limits are not part of the event.
                """,
            returns: """
                The new file descriptor, or -errno: those of openat, and -E2BIG (how has non-zero bytes in fields \
                this kernel does not know), -EINVAL (size smaller than the first version, unknown flags, a mode \
                without O_CREAT or O_TMPFILE), -EXDEV (the walk would leave dirfd under RESOLVE_BENEATH or \
                RESOLVE_IN_ROOT, or cross a mount under RESOLVE_NO_XDEV), -ELOOP (a link the resolve flags \
                forbid), -EAGAIN (RESOLVE_CACHED could not finish from the cache).
                """,
            args: [
                ArgSpec("dirfd", "int", .int, .K, .entry,
                        "Directory for a relative pathname, or AT_FDCWD (-100) for the current directory."),
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both, Files.pathname),
                ArgSpec("how", "struct open_how *", .pointer, .K, .entry,
                        """
                        Address of the struct open_how (u64 flags, u64 mode, u64 resolve). Not decoded yet: only the \
                        address is reported.
                        """),
                ArgSpec("size", "size_t", .ulong, .K, .entry,
                        "Size of *how as the caller knows it: 24 for the first version, larger for later extensions."),
            ],
            useCase: """
                Container runtimes and sandboxing code (runc, systemd) use openat2 to open paths inside trees \
                they do not trust, so it appears in normal container starts. Anything else can use it too: with \
                open, creat and openat it completes the calls that open a file by path, and a program avoiding \
                openat-only monitoring needs nothing more than this call.
                """,
            notes: [
                """
                Because how is not decoded, this event cannot tell a read from a write, or a plain open from \
                O_CREAT or O_TMPFILE: a detection for writes has to treat every openat2 of a sensitive path as a \
                possible write, and can check the result through the descriptor's later use.
                """,
            ] + Files.pathNotes + [
                SharedNotes.ioUring("IORING_OP_OPENAT2", SharedNotes.ioUringPath + """
                     The kernel has copied struct open_how by then, and how and size carry its flags (with \
                    O_LARGEFILE, 0x8000, added by the kernel) and its mode instead of an address and a size.
                    """),
            ],
            related: ["openat", "open", "creat", "close"]),

        EventSpec(
            name: "memfd_create",
            source: .syscall(x86_64: 319, ia32: 356),
            category: .memory,
            summary: "Create an anonymous file that lives only in memory.",
            description: """
                Creates a memory-backed file (tmpfs, or hugetlbfs with MFD_HUGETLB) and returns a \
                descriptor for it. name is only a label: it shows as /memfd:NAME (deleted) in /proc/PID/fd and \
                /proc/PID/maps, and several files may share it. moonwatch reads name at entry and again at exit \
                and reports flags as an integer.
                """,
            returns: """
                The new file descriptor, or -errno (-EINVAL for a name longer than 249 bytes or unknown flags, \
                -EMFILE, -ENOMEM).
                """,
            args: [
                ArgSpec("name", "const char *", .string, [.U, .TOCTOU], .both,
                        "Label for the file, at most 249 bytes. Read at entry and again at exit."),
                ArgSpec("flags", "unsigned int", .uint, .K, .entry,
                        """
                        MFD_CLOEXEC 0x1, MFD_ALLOW_SEALING 0x2, MFD_HUGETLB 0x4, MFD_NOEXEC_SEAL 0x8, MFD_EXEC 0x10; \
                        with MFD_HUGETLB the page size is encoded in the high bits.
                        """),
            ],
            useCase: """
                Fileless execution: a payload is written into a memfd and run with execveat(fd, "", ..., \
                AT_EMPTY_PATH) or execve("/proc/self/fd/N", ...), leaving nothing on disk. A memfd that the same \
                process then executes, or whose name imitates a library or a kernel thread, is a strong signal.
                """,
            notes: [
                "The name is chosen by the caller and may be empty or misleading; it says nothing about the content.",
                """
                Writes into the memfd (write, mmap) are not in the catalogue; the link to a later exec is the \
                descriptor number or its /proc/self/fd path.
                """,
                """
                Since Linux 6.3, MFD_NOEXEC_SEAL makes the file permanently non-executable, and the vm.memfd_noexec \
                sysctl can forbid executable memfds altogether.
                """,
                Files.toctou("name"),
            ],
            related: ["execveat", "execve", "openat", "finit_module"]),

        EventSpec(
            name: "userfaultfd",
            source: .syscall(x86_64: 323, ia32: 374),
            category: .memory,
            summary: "Create a descriptor for handling page faults in user space.",
            description: """
                Returns a descriptor through which a process registers ranges of its memory and then \
                resolves their page faults itself, with ioctl(2) and read(2) on the descriptor. flags may hold \
                O_CLOEXEC, O_NONBLOCK and UFFD_USER_MODE_ONLY, which limits handling to faults raised in user mode.
                """,
            returns: """
                The new descriptor, or -errno (-EPERM when unprivileged use is not allowed, -EINVAL for unknown \
                flags).
                """,
            args: [
                ArgSpec("flags", "int", .int, .K, .entry,
                        "O_CLOEXEC (0x80000), O_NONBLOCK (0x800) and UFFD_USER_MODE_ONLY (0x1), as an integer."),
            ],
            useCase: """
                Kernel exploits use userfaultfd to stall the kernel in the middle of a copy from user memory, \
                widening race windows until a use-after-free becomes reliable. Outside live migration (CRIU, QEMU) \
                and a few memory managers the call is rare, so an unexpected caller, especially one without \
                UFFD_USER_MODE_ONLY, deserves attention.
                """,
            notes: [
                """
                Unprivileged callers (without CAP_SYS_PTRACE) may handle kernel-mode faults only when the \
                vm.unprivileged_userfaultfd sysctl is 1; otherwise they must pass UFFD_USER_MODE_ONLY.
                """,
                """
                Since Linux 6.1 the same kind of descriptor can be obtained by opening /dev/userfaultfd and issuing \
                the USERFAULTFD_IOC_NEW ioctl. That path appears as an open, openat or openat2 of \
                /dev/userfaultfd, not as this event.
                """,
            ],
            related: ["memfd_create", "openat", "ptrace"]),
        EventSpec(
            name: "pidfd_getfd",
            source: .syscall(x86_64: 438, ia32: 438),
            category: .ipc,
            summary: "Copy an open file descriptor out of another process into the caller.",
            description: """
                Duplicates descriptor targetfd of the process that pidfd refers to (a PID file descriptor, \
                from pidfd_open or clone with CLONE_PIDFD) into the calling process and returns the new number \
                (Linux 5.6 and later). The copy is the same open file description as the original: it shares the \
                file offset and status flags, and for a socket the connection itself. The new descriptor has \
                close-on-exec set. \(PtraceAccess.needed) moonwatch reports the three arguments as integers.
                """,
            returns: """
                The new descriptor, or -errno (-EBADF when pidfd is not a PID descriptor or targetfd is not open \
                in the target, -EPERM when access is refused, -ESRCH when the target has exited and been reaped, \
                -EINVAL when flags is not 0, -EMFILE).
                """,
            args: [
                ArgSpec("pidfd", "int", .int, .K, .entry, "PID file descriptor of the process to copy from."),
                ArgSpec("targetfd", "int", .int, .K, .entry, "Descriptor number in that process."),
                ArgSpec("flags", "unsigned int", .uint, .K, .entry, "Reserved; must be 0."),
            ],
            useCase: """
                Taking a socket, a privileged file or a memfd from another process without its cooperation: \
                the effect of SCM_RIGHTS descriptor passing with no sender involved, so detections built on \
                sendmsg and recvmsg never see it. A process pulling descriptors out of a service it did not start \
                (sshd, a container runtime, a password manager), or reusing another process's connected socket, \
                is the pattern. Legitimate callers are few: debuggers, checkpoint and restore tools, supervisors \
                that take over descriptors.
                """,
            notes: [
                """
                Which process pidfd refers to is not part of the event (pidfd_open and clone are not in the \
                catalogue; /proc/PID/fdinfo/PIDFD of the caller names it while the descriptor is open), and \
                neither is what targetfd refers to: the new descriptor, ret, is the caller's to look at.
                """,
                """
                The target does nothing and emits no event: unlike a descriptor passed with SCM_RIGHTS, there is no \
                sending side.
                """,
                PtraceAccess.yama,
            ],
            related: ["ptrace", "process_vm_readv", "recvmsg", "sendmsg", "dup"]),

    ]
}
