// Socket system calls. Argument names follow the Linux man pages (recvmmsg_time32 follows the
// kernel's compat definition). Text here is rendered by EventDocs into `docs/events/`.

private enum Net {
    static let sockfd = "Socket file descriptor the call operates on."
    static let sendFlags = "MSG_* send flags (MSG_DONTWAIT, MSG_NOSIGNAL, MSG_MORE, MSG_CONFIRM, ...), as an integer."
    static let recvmsgFlags = """
        MSG_* receive flags (MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_ERRQUEUE, \
        MSG_CMSG_CLOEXEC, ...), as an integer.
        """
    /// recvfrom has no control messages, so MSG_CMSG_CLOEXEC (recvmsg and recvmmsg only) is not among them.
    static let recvfromFlags = """
        MSG_* receive flags (MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, MSG_TRUNC, MSG_OOB, ...), as an integer.
        """
    static let waitForOne = """
        MSG_WAITFORONE (0x10000): the call blocks, if at all, only for the first message. Once \
        that has arrived the kernel turns on MSG_DONTWAIT, so the rest of the batch is whatever is already queued.
        """

    static let sockaddrShapes = """
        which moonwatch decodes by family: `{family="AF_INET", addr="10.0.0.1", port=80}`, \
        `{family="AF_INET6", addr="::1", port=443}`, `{family="AF_UNIX", path="/run/x.sock"}` \
        (abstract names as `path="@name", abstract=true`, unnamed sockets as `path=""`), and \
        `{family=<number>}` for families it does not decode.
        """

    static let socketcall = """
        32-bit programs may reach this call through socketcall (ia32 102), which multiplexes \
        every socket operation behind one number; moonwatch demultiplexes it and reports the call under this \
        name with process.compat set and via = "socketcall". Through \
        socketcall no argument is in a register: the kernel copies them from an array of 32-bit values in the \
        caller's memory, which moonwatch reads once, at entry. The call's arguments tagged K here (not the facts \
        collected from the kernel, such as socket) are then user memory too: another thread can rewrite the array between moonwatch's read and the kernel's copy, and when the \
        array cannot be read (a page not yet resident) the call is not reported at all.
        """
    static let compatMsghdr = """
        32-bit callers (process.compat) pass a 28-byte compat_msghdr with 32-bit pointers and \
        lengths, and compat control-message headers; the decoded table has the same shape as for 64-bit callers.
        """
    static let compatMmsghdr = """
        32-bit callers (process.compat) pass compat entries: a 28-byte compat_msghdr followed \
        by a 4-byte msg_len, 32 bytes per message; the decoded table has the same shape as for 64-bit callers.
        """
    static func lateHeader(_ arg: String) -> String {
        """
        \(arg) is read once, at exit (tag AFTER). The kernel took the caller's part of the header (the name, \
        iovec and control pointers and their lengths) at entry and wrote its results through those pointers; \
        moonwatch decodes the header as it stands when the call returns. If another thread rewrote the header \
        during the call, the reported iov, name and control describe other buffers than the ones the kernel \
        used, and nothing marks it: there is no entry read to compare with, so \(arg) never appears in changed.
        """
    }
    static let noPayload = """
        Payload bytes are never captured: the event carries the iovec lengths and their total \
        (bytes), not the data.
        """
    static let controlLimit = """
        Control data is captured up to the probe's size limit. The kernel accepts up to 253 \
        descriptors in one SCM_RIGHTS message; a longer list than the probe can hold is cut.
        """
    static let batchLimit = """
        Large batches are cut to the probe's capture limit: the remaining messages are counted \
        by vlen and the return value but not decoded.
        """
    static let socketInfo = """
        The socket sockfd names, collected from the kernel when the event is captured: its inode, family, \
        type, local and remote address (IPv4, IPv6) and, for AF_UNIX, the inode of the socket it is connected \
        to, which is the receiver's socket for a send and the sender's for a receive: it pairs the two ends \
        of a descriptor pass.
        """
    static func toctou(_ arg: String) -> String {
        """
        \(arg) is read at entry and again at exit, and `changed` names it when the two reads differ in what the \
        caller supplies. A difference shows the memory was rewritten while the call ran. Equal reads prove \
        nothing: the kernel makes its own copy between the two reads, and a racing thread can flip a value \
        and flip it back in that window.
        """
    }
    static let entryFault = SharedNotes.entryFault
    static let blockingTime = """
        The event time is taken at entry, unless the probes could only select the call once it \
        returned (a signature's filter asks for its result or for what the kernel wrote back): then \
        it is the time the call returned. For a call that blocks, the two can be far apart.
        """
    static let timeoutWriteBack = """
        When at least one message was received, the kernel writes the unused part of the \
        timeout back into timeout. An exit re-read would differ from the entry read as a matter of course, \
        so timeout is read once, at entry, and is not TOCTOU-tagged.
        """
    static let timeoutBug = """
        The kernel checks the timeout only after each message arrives, so the call can block \
        well past it (a documented limitation of recvmmsg).
        """
}

extension Catalogue {
    static let network: [EventSpec] = [
        EventSpec(
            name: "sendmsg",
            source: .syscall(x86_64: 46, ia32: 370),
            category: .network,
            summary: "Send a message on a socket, with an optional destination address and ancillary data.",
            description: """
                Sends the data described by a struct msghdr: a list of buffers (iovec), an optional \
                destination address for unconnected sockets, and control messages. moonwatch decodes msg as \
                `{name, iov, iovlen, bytes, controllen, control, flags}`: name is the destination as a sockaddr \
                table, iov the buffer lengths and bytes their total. control lists the ancillary messages, such as \
                SCM_RIGHTS with the descriptors passed and what each refers to (`fds={3}, files={{fd=3, \
                type="file", path="/etc/shadow"}}`) and SCM_CREDENTIALS as `cred={pid, uid, gid}`.
                """,
            returns: """
                Number of bytes sent, which can be less than msg.bytes; -errno on failure (-EAGAIN, -EPIPE, \
                -ECONNREFUSED, -EMSGSIZE, ...).
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("msg", "struct msghdr *", .msghdr, [.U, .TOCTOU], .both,
                        "Message header: destination, buffers and control messages. Read at entry and again at exit."),
                ArgSpec("flags", "int", .int, .K, .entry, Net.sendFlags),
                ArgSpec("socket", "(collected)", .sockinfo, [.K, .OPT], .exit, Net.socketInfo),
            ],
            useCase: """
                Catches descriptor passing over Unix sockets: an SCM_RIGHTS message that hands an open file, \
                socket or memfd to another process, as when a privileged helper leaks a descriptor or a host file \
                is smuggled into a container. The entry and exit reads of msg also expose a destination or control \
                message rewritten by another thread during the call.
                """,
            notes: [
                Net.noPayload,
                Net.controlLimit,
                Net.toctou("msg"),
                Net.entryFault,
                Net.compatMsghdr,
                Net.socketcall,
                SharedNotes.ioUring("IORING_OP_SENDMSG", """
                    msg is read from the caller's memory when the request completes, after the kernel has \
                    used it, and has no exit read.
                    """),
            ],
            related: ["recvmsg", "sendmmsg", "sendto", "socketpair"]),

        EventSpec(
            name: "recvmsg",
            source: .syscall(x86_64: 47, ia32: 372),
            category: .network,
            summary: "Receive a message from a socket, with the sender address and ancillary data.",
            description: """
                Receives data into the buffers described by a struct msghdr and, where the protocol \
                provides them, fills in the sender address and control messages. The kernel writes msg_namelen, \
                msg_controllen, msg_flags and the control buffer, so moonwatch reads msg only at exit and decodes \
                it as `{name, iov, iovlen, bytes, controllen, control, flags}`. Descriptors received through \
                SCM_RIGHTS appear as the new descriptor numbers installed in the receiving process.
                """,
            returns: """
                Number of bytes received; 0 when a stream peer has shut down in order or when the message \
                was an empty datagram; -errno on failure (-EAGAIN on an empty non-blocking socket, -ECONNRESET, \
                ...).
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("msg", "struct msghdr *", .msghdr, [.U, .AFTER], .exit,
                        """
                        Message header. Read only at exit, after the kernel has written the sender address, the \
                        control messages, their lengths and msg_flags; the pointers and lengths are the ones the \
                        header holds then, not necessarily those the kernel used.
                        """),
                ArgSpec("flags", "int", .int, .K, .entry, Net.recvmsgFlags),
                ArgSpec("socket", "(collected)", .sockinfo, [.K, .OPT], .exit, Net.socketInfo),
            ],
            useCase: """
                The receiving half of descriptor passing: a process gaining open files or sockets through \
                SCM_RIGHTS, or learning its peer's credentials through SCM_CREDENTIALS. MSG_CTRUNC in msg.flags \
                means the control buffer was too small and the kernel discarded descriptors that did not fit, which \
                matters for fd-smuggling detections.
                """,
            notes: [
                """
                iov and bytes describe the buffers the caller supplied (their capacity); the number of bytes actually \
                received is the return value. Payload bytes are never captured.
                """,
                Net.lateHeader("msg"),
                "On failure the kernel fills nothing in; trust the decoded msg only when ret >= 0.",
                Net.controlLimit,
                Net.compatMsghdr,
                Net.socketcall,
            ],
            related: ["sendmsg", "recvmmsg", "recvfrom", "socketpair"]),

        EventSpec(
            name: "sendto",
            source: .syscall(x86_64: 44, ia32: 369),
            category: .network,
            summary: "Send data on a socket, optionally to an explicit destination address.",
            description: """
                Sends len bytes from buf. On an unconnected datagram or raw socket dest_addr names the \
                destination; on a connected socket it is normally NULL and the connected peer is used. \
                dest_addr is a struct sockaddr, \(Net.sockaddrShapes) buf is reported as an address only.
                """,
            returns: "Number of bytes sent, or -errno (-EAGAIN, -EPIPE, -EMSGSIZE, -EDESTADDRREQ, ...).",
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("buf", "const void *", .pointer, .K, .entry,
                        "Address of the data. Only the pointer value is reported; the bytes are not read."),
                ArgSpec("len", "size_t", .ulong, .K, .entry, "Number of bytes the caller asked to send."),
                ArgSpec("flags", "int", .int, .K, .entry, Net.sendFlags),
                ArgSpec("dest_addr", "const struct sockaddr *", .sockaddr, [.U, .TOCTOU, .OPT], .both,
                        "Destination address, NULL for connected sockets. Read at entry and again at exit."),
                ArgSpec("addrlen", "socklen_t", .uint, .K, .entry, "Size of the dest_addr buffer in bytes."),
            ],
            useCase: """
                Shows where each process sends datagrams: DNS queries to an unexpected resolver, UDP beacons, \
                packets crafted on raw sockets. The dest_addr reads at entry and exit expose a thread that \
                rewrites the destination after a check has looked at it.
                """,
            notes: [
                """
                On x86_64 there is no separate send system call: the C library's send() is sendto() with a NULL \
                address, so plain sends on connected sockets are reported here. So is socketcall's SYS_SEND \
                (9), with dest_addr NULL and addrlen 0.
                """,
                "Payload bytes are never captured.",
                Net.toctou("dest_addr"),
                Net.entryFault,
                Net.socketcall,
            ],
            related: ["recvfrom", "sendmsg", "sendmmsg", "connect"]),

        EventSpec(
            name: "recvfrom",
            source: .syscall(x86_64: 45, ia32: 371),
            category: .network,
            summary: "Receive data from a socket, optionally learning the sender address.",
            description: """
                Receives up to len bytes into buf. When src_addr is not NULL and the protocol reports a \
                source, the kernel writes the sender address there and its length into *addrlen; moonwatch \
                reads both at exit. src_addr is a struct sockaddr, \(Net.sockaddrShapes) \
                buf is reported as an address only.
                """,
            returns: """
                Number of bytes received; 0 when a stream peer has shut down in order (or for an empty \
                datagram); -errno on failure.
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("buf", "void *", .pointer, .K, .entry,
                        "Address of the receive buffer. Only the pointer value is reported; the bytes are not read."),
                ArgSpec("len", "size_t", .ulong, .K, .entry, "Capacity of buf in bytes."),
                ArgSpec("flags", "int", .int, .K, .entry, Net.recvfromFlags),
                ArgSpec("src_addr", "struct sockaddr *", .sockaddr, [.U, .OPT], .exit,
                        """
                        Where the kernel stores the sender address; NULL when the caller does not want it. Read at \
                        exit.
                        """),
                ArgSpec("addrlen", "socklen_t *", .intRef, [.U, .OPT], .exit,
                        """
                        Value-result length: the caller stores the size of src_addr, the kernel replaces it with the \
                        real address length. Read at exit, so it shows the kernel's value.
                        """),
            ],
            useCase: """
                Shows whom a process hears from over datagram and raw sockets: answers from unexpected DNS \
                servers, command traffic over UDP, or a sniffer reading an AF_PACKET socket (src_addr family 17).
                """,
            notes: [
                """
                Whether a source is reported depends on the protocol. TCP reports none: *addrlen becomes 0 and \
                src_addr carries nothing. AF_UNIX sockets, stream ones included, report the address \
                the sending socket is bound to, so a client reading from a server bound to a path gets that \
                path; a sender that never bound (a socketpair end, most clients) gives length 0 here too.
                """,
                """
                On x86_64 the C library's receive call without an address argument is a wrapper over recvfrom, so \
                it is reported here too. So is socketcall's SYS_RECV (10), with src_addr and addrlen NULL.
                """,
                "Payload bytes are never captured.",
                Net.socketcall,
            ],
            related: ["sendto", "recvmsg", "recvmmsg", "accept"]),

        EventSpec(
            name: "sendmmsg",
            source: .syscall(x86_64: 307, ia32: 345),
            category: .network,
            summary: "Send several messages on a socket with one call.",
            description: """
                Sends up to vlen messages from msgvec, an array of struct mmsghdr: a struct msghdr followed \
                by msg_len, which the kernel sets to the bytes sent for that message. moonwatch decodes msgvec as \
                `{{msg=msghdr, len=N}, ...}`, each msg as for sendmsg (destination, iovec lengths, control \
                messages including SCM_RIGHTS). It is read at entry and again at exit; the len values come from \
                the exit read.
                """,
            returns: """
                Number of messages sent: up to vlen (fewer when an error stopped the batch after the first \
                message), 0 when vlen is 0, or -errno when the first message failed.
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("msgvec", "struct mmsghdr *", .mmsghdrs, [.U, .TOCTOU], .both,
                        """
                        Array of vlen messages. Read at entry and again at exit; the per-message len fields are \
                        kernel outputs and are ignored when the reads are compared.
                        """),
                ArgSpec("vlen", "unsigned int", .uint, .K, .entry,
                        "Number of entries in msgvec; the kernel caps it at 1024 (UIO_MAXIOV)."),
                ArgSpec("flags", "int", .int, .K, .entry, Net.sendFlags),
                ArgSpec("socket", "(collected)", .sockinfo, [.K, .OPT], .exit, Net.socketInfo),
            ],
            useCase: """
                Batching hides volume: DNS tunnels and UDP floods push many datagrams per call. Destinations \
                and SCM_RIGHTS lists are visible per message, so bulk descriptor passing is caught the same way \
                as with sendmsg.
                """,
            notes: [
                Net.batchLimit,
                Net.noPayload,
                Net.toctou("msgvec"),
                Net.compatMmsghdr,
                Net.socketcall,
            ],
            related: ["sendmsg", "recvmmsg", "sendto"]),

        EventSpec(
            name: "recvmmsg",
            source: .syscall(x86_64: 299, ia32: 417),
            category: .network,
            summary: "Receive several messages from a socket with one call, with an optional timeout.",
            description: """
                Fills up to vlen entries of msgvec, each a struct msghdr plus msg_len, which the kernel sets \
                to the bytes received for that message. moonwatch reads msgvec at exit and decodes it as \
                `{{msg=msghdr, len=N}, ...}`, each msg as for recvmsg (sender address, iovec lengths, control \
                messages). timeout is a 64-bit struct timespec, decoded as `{sec, nsec}`. On ia32 this event is \
                recvmmsg_time64 (417); the older 32-bit-time call has its own event, recvmmsg_time32.
                """,
            returns: """
                Number of messages received (0 when vlen is 0), or -errno. When an error follows at least one \
                received message, the count is returned and the error is reported by the next call on the socket.
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("msgvec", "struct mmsghdr *", .mmsghdrs, [.U, .AFTER], .exit,
                        """
                        Array of vlen messages. Read only at exit, after the kernel has filled addresses, control \
                        messages and per-message lengths; the headers' pointers and lengths are the ones they hold \
                        then, not necessarily those the kernel used.
                        """),
                ArgSpec("vlen", "unsigned int", .uint, .K, .entry,
                        "Number of entries in msgvec. Unlike sendmmsg's, it is not capped by the kernel."),
                ArgSpec("flags", "int", .int, .K, .entry,
                        "MSG_* receive flags as for recvmsg, as an integer, plus MSG_WAITFORONE (see the notes)."),
                ArgSpec("timeout", "struct timespec *", .timespec, [.U, .OPT], .entry,
                        "Time limit for the whole batch, NULL for none. Read at entry, before the kernel rewrites it."),
                ArgSpec("socket", "(collected)", .sockinfo, [.K, .OPT], .exit, Net.socketInfo),
            ],
            useCase: """
                High-rate datagram receivers (DNS, QUIC, tunnels) and bulk descriptor passing over Unix datagram \
                sockets. recvmmsg in a process that normally does little networking, or SCM_RIGHTS arriving in \
                batches, is worth a look.
                """,
            notes: [
                Net.waitForOne,
                Net.timeoutWriteBack,
                Net.timeoutBug,
                Net.batchLimit,
                """
                Payload bytes are never captured; iov and bytes describe the buffers supplied, len the \
                bytes received.
                """,
                Net.lateHeader("msgvec"),
                Net.compatMmsghdr,
                """
                socketcall has no operation for this call: its SYS_RECVMMSG (19) is the 32-bit-time call, \
                reported as recvmmsg_time32.
                """,
            ],
            related: ["recvmmsg_time32", "recvmsg", "sendmmsg"]),

        EventSpec(
            name: "recvmmsg_time32",
            source: .syscall(x86_64: nil, ia32: 337),
            category: .network,
            summary: "The ia32-only recvmmsg whose timeout is a 32-bit struct old_timespec32.",
            description: """
                The original 32-bit recvmmsg, kept for programs built without 64-bit time_t. It behaves \
                like recvmmsg, but mmsg uses the compat layout (a 28-byte compat_msghdr and a 4-byte msg_len per \
                entry, all pointers 32-bit) and timeout is a struct old_timespec32: a 32-bit tv_sec and a 32-bit \
                tv_nsec in nanoseconds. moonwatch decodes mmsg as `{{msg=msghdr, len=N}, ...}` and timeout as \
                `{sec, nsec}`, the same shapes as for recvmmsg.
                """,
            returns: """
                Number of messages received (0 when vlen is 0), or -errno; as for recvmmsg, an error after the \
                first message is reported by the next call.
                """,
            args: [
                ArgSpec("fd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("mmsg", "struct compat_mmsghdr *", .mmsghdrs, [.U, .AFTER], .exit,
                        """
                        Array of vlen compat entries (28-byte compat_msghdr plus 4-byte msg_len). Read only at \
                        exit, so the headers' pointers and lengths are the ones they hold then.
                        """),
                ArgSpec("vlen", "unsigned int", .uint, .K, .entry,
                        "Number of entries in mmsg. Unlike sendmmsg's, it is not capped by the kernel."),
                ArgSpec("flags", "unsigned int", .uint, .K, .entry,
                        "MSG_* receive flags as for recvmsg, plus MSG_WAITFORONE, as an unsigned integer."),
                ArgSpec("timeout", "struct old_timespec32 *", .timespec32, [.U, .OPT], .entry,
                        """
                        Time limit for the whole batch as struct old_timespec32, NULL for none. Read at entry, \
                        before the kernel rewrites it.
                        """),
                ArgSpec("socket", "(collected)", .sockinfo, [.K, .OPT], .exit, Net.socketInfo),
            ],
            useCase: """
                A 64-bit program can execute int $0x80 with number 337 and reach this compat path, which \
                tools that rely on per-syscall tracepoints never see. recvmmsg_time32 from a process that is not a \
                32-bit binary points to deliberate evasion or exploit code; this compat code has had security bugs \
                before (CVE-2014-0038, reached through the x32 ABI).
                """,
            notes: [
                """
                There is no x86_64 number. The call is reached only through the ia32 entry, from a 32-bit process or \
                through int $0x80 from a 64-bit one, by two doors: its own number, 337, and socketcall's \
                SYS_RECVMMSG (19). Both take the compat layout for mmsg and a struct old_timespec32 timeout, and both \
                are reported as this event; process.compat is always true.
                """,
                """
                The per-syscall tracepoints (syscalls/sys_enter_*) never fire for compat calls on x86_64. moonwatch \
                sees this call through the raw sys_enter and sys_exit tracepoints, where the task has TS_COMPAT \
                set and the number is the ia32 one.
                """,
                """
                tv_sec is 32 bits and overflows in January 2038. The 64-bit recvmmsg (x86_64 299) and the ia32 \
                recvmmsg_time64 (417, reported as recvmmsg) take a 64-bit struct timespec instead.
                """,
                Net.timeoutWriteBack,
                Net.waitForOne,
                """
                Argument names and types follow the kernel's compat definition (fd, struct compat_mmsghdr *mmsg) \
                rather than the recvmmsg man page (sockfd, struct mmsghdr *msgvec).
                """,
                Net.batchLimit,
                Net.lateHeader("mmsg"),
                Net.socketcall,
            ],
            related: ["recvmmsg", "recvmsg", "sendmmsg"]),

        EventSpec(
            name: "socket",
            source: .syscall(x86_64: 41, ia32: 359),
            category: .network,
            summary: "Create a communication endpoint and return a descriptor for it.",
            description: """
                Creates a socket of the given address family, type and protocol and returns a new file \
                descriptor. All three arguments are plain integers: domain is an AF_* value (AF_UNIX 1, AF_INET 2, \
                AF_INET6 10, AF_NETLINK 16, AF_PACKET 17, AF_ALG 38, AF_VSOCK 40), type a SOCK_* value \
                (SOCK_STREAM 1, SOCK_DGRAM 2, SOCK_RAW 3, SOCK_SEQPACKET 5), and protocol a protocol number, 0 \
                for the family's default.
                """,
            returns: """
                The new socket descriptor, or -errno (-EAFNOSUPPORT, -EPROTONOSUPPORT, -EPERM for raw or \
                packet sockets without CAP_NET_RAW, -EMFILE, ...).
                """,
            args: [
                ArgSpec("domain", "int", .int, .K, .entry, "Address family, an AF_* number."),
                ArgSpec("type", "int", .int, .K, .entry,
                        "Socket type, a SOCK_* number, possibly OR'ed with SOCK_NONBLOCK and SOCK_CLOEXEC."),
                ArgSpec("protocol", "int", .int, .K, .entry, "Protocol number, or 0 for the default."),
            ],
            useCase: """
                Raw and packet sockets (SOCK_RAW, AF_PACKET) used to sniff or forge traffic; unusual families \
                such as AF_ALG, AF_VSOCK or AF_NETLINK in processes that have no reason to use them; and the first \
                step of a reverse shell (socket, connect, dup2, execve).
                """,
            notes: [
                """
                Values are reported as numbers. Mask type with 0xf before comparing it with SOCK_* (SOCK_NONBLOCK is \
                0x800, SOCK_CLOEXEC 0x80000).
                """,
                Net.socketcall,
                SharedNotes.ioUring("IORING_OP_SOCKET"),
            ],
            related: ["connect", "bind", "listen", "socketpair"]),

        EventSpec(
            name: "socketpair",
            source: .syscall(x86_64: 53, ia32: 360),
            category: .network,
            summary: "Create a pair of connected sockets.",
            description: """
                Creates two connected sockets that have no address and stores their descriptors in sv. \
                In practice the domain is AF_UNIX. moonwatch reads sv at exit and reports it as an array of two \
                integers.
                """,
            returns: """
                0 on success, -errno on failure (-EOPNOTSUPP when the family does not support pairs, -EMFILE, \
                ...).
                """,
            args: [
                ArgSpec("domain", "int", .int, .K, .entry, "Address family, an AF_* number (normally AF_UNIX, 1)."),
                ArgSpec("type", "int", .int, .K, .entry,
                        "Socket type, a SOCK_* number, possibly OR'ed with SOCK_NONBLOCK and SOCK_CLOEXEC."),
                ArgSpec("protocol", "int", .int, .K, .entry, "Protocol number, normally 0."),
                ArgSpec("sv", "int[2]", .fdPair, .U, .exit,
                        "The two descriptors written by the kernel. Read at exit; meaningful only when ret is 0."),
            ],
            useCase: """
                A private channel between related processes, typical of privilege separation and of descriptor \
                passing with SCM_RIGHTS. Pairs created just before a fork and followed by sendmsg with SCM_RIGHTS \
                show which process hands descriptors to which.
                """,
            notes: [
                """
                The sockets have no name, so addresses in later messages on them decode as unnamed AF_UNIX \
                (`path=""`) or are absent.
                """,
                Net.socketcall,
            ],
            related: ["socket", "sendmsg", "recvmsg", "process_fork"]),

        EventSpec(
            name: "connect",
            source: .syscall(x86_64: 42, ia32: 362),
            category: .network,
            summary: "Connect a socket to an address.",
            description: """
                Connects sockfd to the address in addr: a stream socket starts a connection, a datagram \
                socket records its default peer. addr is a struct sockaddr, \(Net.sockaddrShapes)
                """,
            returns: """
                0 on success, -errno on failure (-ECONNREFUSED, -ETIMEDOUT, -ENETUNREACH, ...). A non-blocking \
                socket returns -EINPROGRESS and finishes the connection later.
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("addr", "const struct sockaddr *", .sockaddr, [.U, .TOCTOU], .both,
                        "Address to connect to. Read at entry and again at exit."),
                ArgSpec("addrlen", "socklen_t", .uint, .K, .entry, "Size of addr in bytes."),
            ],
            useCase: """
                Outbound connections per process: reverse shells, command-and-control beacons, the cloud \
                metadata service (169.254.169.254), the Docker or containerd socket, abstract Unix sockets of \
                local services. A destination that differs between the entry and exit reads points at a thread \
                racing to slip past a check.
                """,
            notes: [
                "After -EINPROGRESS the outcome of the connection is not part of this event.",
                "connect with AF_UNSPEC dissolves a datagram association; it decodes as `{family=0}`.",
                Net.toctou("addr"),
                Net.entryFault,
                Net.socketcall,
                SharedNotes.ioUring("IORING_OP_CONNECT", """
                    addr is read from the caller's memory when the request completes, after the kernel has \
                    copied it, and has no exit read.
                    """),
            ],
            related: ["socket", "bind", "accept4", "sendto", "dup2"]),

        EventSpec(
            name: "accept",
            source: .syscall(x86_64: 43, ia32: nil),
            category: .network,
            summary: "Accept a connection on a listening socket.",
            description: """
                Takes the first pending connection on the listening socket sockfd, creates a new connected \
                socket for it and returns its descriptor. If addr is not NULL the kernel writes the peer address \
                there and its length into *addrlen; moonwatch reads both at exit and decodes addr as a sockaddr \
                table (`{family="AF_INET", addr="10.0.0.1", port=80}` and so on).
                """,
            returns: """
                Descriptor of the new connected socket, or -errno (-EAGAIN when a non-blocking socket has no \
                pending connection, -EINVAL when sockfd is not listening, -EMFILE, ...).
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, "Listening socket."),
                ArgSpec("addr", "struct sockaddr *", .sockaddr, [.U, .OPT], .exit,
                        "Where the kernel stores the peer address; NULL when not wanted. Read at exit."),
                ArgSpec("addrlen", "socklen_t *", .intRef, [.U, .OPT], .exit,
                        "Value-result length: size of addr in, real address length out. Read at exit."),
            ],
            useCase: """
                Inbound connections handled by a process: a bind shell accepting its operator, a process that \
                is not a server suddenly serving, and the peer address of each client.
                """,
            notes: [
                """
                ia32 has no accept number: 32-bit programs use accept4, or socketcall's SYS_ACCEPT (5), which is \
                reported as this event.
                """,
                Net.blockingTime,
                Net.socketcall,
            ],
            related: ["accept4", "listen", "bind", "socket"]),

        EventSpec(
            name: "accept4",
            source: .syscall(x86_64: 288, ia32: 364),
            category: .network,
            summary: "Accept a connection on a listening socket, with flags for the new descriptor.",
            description: """
                Like accept, and with flags 0 identical to it; flags can set non-blocking mode and \
                close-on-exec on the new socket in the same call. If addr is not NULL the kernel writes the peer \
                address there and its length into *addrlen; moonwatch reads both at exit and decodes addr as a \
                sockaddr table.
                """,
            returns: """
                Descriptor of the new connected socket, or -errno (-EAGAIN, -EINVAL for a socket that is not \
                listening or unknown flags, -EMFILE, ...).
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, "Listening socket."),
                ArgSpec("addr", "struct sockaddr *", .sockaddr, [.U, .OPT], .exit,
                        "Where the kernel stores the peer address; NULL when not wanted. Read at exit."),
                ArgSpec("addrlen", "socklen_t *", .intRef, [.U, .OPT], .exit,
                        "Value-result length: size of addr in, real address length out. Read at exit."),
                ArgSpec("flags", "int", .int, .K, .entry,
                        "SOCK_NONBLOCK (0x800) and/or SOCK_CLOEXEC (0x80000), as an integer."),
            ],
            useCase: """
                The same as accept: bind shells, unexpected servers, client addresses. Modern C libraries and \
                runtimes often use accept4 even where the source code calls accept, so watch both.
                """,
            notes: [
                "This is the call 32-bit programs use when they do not go through socketcall.",
                Net.blockingTime,
                Net.socketcall,
            ],
            related: ["accept", "listen", "bind", "socket"]),

        EventSpec(
            name: "bind",
            source: .syscall(x86_64: 49, ia32: 361),
            category: .network,
            summary: "Assign a local address to a socket.",
            description: """
                Gives sockfd the local address in addr: an IP address and port, a Unix socket path or \
                abstract name, or a family-specific address such as a network interface for AF_PACKET. addr is a \
                struct sockaddr, \(Net.sockaddrShapes)
                """,
            returns: """
                0 on success, -errno on failure (-EADDRINUSE, -EACCES for a port below 1024 without \
                CAP_NET_BIND_SERVICE, -EINVAL when the socket is already bound, ...).
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, Net.sockfd),
                ArgSpec("addr", "const struct sockaddr *", .sockaddr, [.U, .TOCTOU], .both,
                        "Local address to assign. Read at entry and again at exit."),
                ArgSpec("addrlen", "socklen_t", .uint, .K, .entry, "Size of addr in bytes."),
            ],
            useCase: """
                Bind shells and unexpected listeners (0.0.0.0 or :: on a high port, followed by listen and \
                accept), packet sockets bound to an interface, and abstract Unix sockets, which leave no file \
                behind. The entry and exit reads of addr catch a port or path swapped during the call.
                """,
            notes: [
                """
                Binding a Unix socket to a path creates the socket file. Abstract names (a leading NUL byte, shown \
                as a leading @) never appear in the filesystem and belong to the network namespace.
                """,
                Net.toctou("addr"),
                Net.entryFault,
                Net.socketcall,
            ],
            related: ["listen", "accept", "socket", "connect"]),

        EventSpec(
            name: "listen",
            source: .syscall(x86_64: 50, ia32: 363),
            category: .network,
            summary: "Mark a socket as accepting incoming connections.",
            description: """
                Makes a stream socket passive, so that incoming connections are queued until accepted. \
                backlog is the requested length of the queue of completed connections; the kernel silently caps it \
                at net.core.somaxconn.
                """,
            returns: """
                0 on success, -errno on failure (-EADDRINUSE when another socket already listens on the port, \
                -EOPNOTSUPP for socket types that cannot listen).
                """,
            args: [
                ArgSpec("sockfd", "int", .int, .K, .entry, "Socket to make passive."),
                ArgSpec("backlog", "int", .int, .K, .entry, "Requested length of the accept queue."),
            ],
            useCase: """
                A process starting to listen for connections: a bind shell, a backdoor inside a process that \
                is not a server, or a listener in a container that should only connect outwards.
                """,
            notes: [
                """
                The listening address is not part of this event: correlate with the earlier bind on the same sockfd \
                in the same process. A socket that listens without a bind gets an ephemeral port from the \
                kernel.
                """,
                Net.socketcall,
            ],
            related: ["bind", "accept", "accept4", "socket"]),
    ]
}
