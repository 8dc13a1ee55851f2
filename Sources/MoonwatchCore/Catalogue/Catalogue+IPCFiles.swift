// Descriptor and file system calls, and the memory-backed descriptors (memfd_create, userfaultfd).
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
    static let entryFault = """
        Entry-time reads cannot fault pages in. If the string sits in memory that is not \
        resident, the read fails and the argument is missing, even though the kernel reads it a moment later.
        """
    static let implicitClose = """
        Descriptors closed implicitly are not reported: by close_range(2), by exec for \
        close-on-exec descriptors, by dup2 or dup3 onto an open newfd, or when the process exits.
        """
    static let fcntlDup = """
        fcntl(F_DUPFD) and fcntl(F_DUPFD_CLOEXEC) also duplicate descriptors and are not \
        reported as this event.
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
            related: ["dup", "dup2", "dup3", "openat"]),

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
            related: ["dup2", "dup3", "close", "socket"]),

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
                "dup3 and fcntl(F_DUPFD) reach the same result, so watch dup3 as well.",
            ],
            related: ["dup", "dup3", "close", "socket", "connect", "execve"]),

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
            related: ["dup2", "dup", "close", "execve"]),

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
                ArgSpec("pathname", "const char *", .string, [.U, .TOCTOU], .both,
                        "Path to open, as the caller wrote it. Read at entry and again at exit."),
                ArgSpec("flags", "int", .int, .K, .entry,
                        """
                        O_* flags: access mode in the low two bits, plus O_CREAT, O_TRUNC, O_APPEND, O_TMPFILE, \
                        O_CLOEXEC, ..., as an integer.
                        """),
                ArgSpec("mode", "mode_t", .uint, .K, .entry,
                        "Permission bits for a new file; used only with O_CREAT or O_TMPFILE, ignored otherwise."),
            ],
            useCase: """
                Access to sensitive files (/etc/shadow, SSH keys, /proc/PID/mem, /etc/ld.so.preload opened for \
                writing), executables dropped in /tmp or /dev/shm, and O_TMPFILE files that never get a name. The \
                entry and exit reads of pathname expose a path swapped after a check has looked at it.
                """,
            notes: [
                """
                The path is reported as passed: relative paths, symbolic links and .. components are not resolved. \
                Rebuild relative paths from the earlier event that produced dirfd.
                """,
                """
                open(2), creat(2) and openat2(2) are separate system calls and are not reported as openat. glibc's \
                open() has used openat on x86_64 since version 2.26, so most programs still show up here; \
                musl and code that calls open(2) directly do not.
                """,
                Files.toctou("pathname"),
                Files.entryFault,
            ],
            related: ["close", "dup", "memfd_create", "execve"]),

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
                the USERFAULTFD_IOC_NEW ioctl. That path appears as an openat of /dev/userfaultfd, not as this \
                event.
                """,
            ],
            related: ["memfd_create", "openat", "ptrace"]),
    ]
}
