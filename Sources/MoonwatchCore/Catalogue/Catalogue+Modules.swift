// Kernel module loading. Argument names follow the Linux man pages. Text here is rendered by EventDocs
// into `docs/events/`.

private enum Mod {
    static let params = """
        Module parameters, a space-separated list of name=value pairs. Read at entry and again at exit.
        """
    static let toctou = """
        param_values is read at entry and again at exit, and `changed` names it when the reads \
        differ. The kernel copies the string between the two reads; equal reads prove nothing, since a racing \
        thread can flip the value and flip it back.
        """
    static let requestModule = """
        Loads the kernel asks for itself (request_module) run modprobe as a user process, so \
        they appear as an execve of modprobe followed by its own module load.
        """
    static let disabled = """
        Once kernel.modules_disabled is set to 1 every load fails with -EPERM; the attempts are \
        still reported.
        """
}

extension Catalogue {
    static let modules: [EventSpec] = [
        EventSpec(
            name: "init_module",
            source: .syscall(x86_64: 175, ia32: 128),
            category: .module,
            summary: "Load a kernel module from an image in memory.",
            description: """
                Copies the ELF module image of len bytes at module_image into the kernel, links it and runs \
                its init function, passing param_values as its parameters. The caller needs CAP_SYS_MODULE. \
                moonwatch reports the image address and length as integers and reads param_values at entry and \
                again at exit.
                """,
            returns: """
                0 on success, or -errno (-EPERM without CAP_SYS_MODULE or when loading is disabled, -EEXIST \
                when a module of that name is loaded, -ENOEXEC for an invalid image, a key error such as \
                -EKEYREJECTED when signature enforcement refuses it).
                """,
            args: [
                ArgSpec("module_image", "void *", .pointer, .K, .entry,
                        "Address of the module image in the caller's memory. The image is not read."),
                ArgSpec("len", "unsigned long", .ulong, .K, .entry, "Size of the image in bytes."),
                ArgSpec("param_values", "const char *", .string, [.U, .TOCTOU], .both, Mod.params),
            ],
            useCase: """
                Kernel rootkits and malicious drivers. A load from memory needs no module file on disk, which \
                is unusual: modprobe and insmod prefer finit_module and fall back to init_module mainly for \
                compressed modules the kernel cannot unpack itself. An init_module outside package management or \
                boot, from a container or an interactive shell, deserves review.
                """,
            notes: [
                """
                The module bytes are neither captured nor hashed: the event shows that a load happened, not what \
                was loaded. The module name is inside the image.
                """,
                Mod.requestModule,
                Mod.disabled,
                Mod.toctou,
            ],
            related: ["finit_module", "openat", "execve"]),

        EventSpec(
            name: "finit_module",
            source: .syscall(x86_64: 313, ia32: 350),
            category: .module,
            summary: "Load a kernel module from a file descriptor.",
            description: """
                Like init_module, but the kernel reads the image itself from the open file fd, so security \
                modules and integrity checks can tell which file is loaded. flags can skip version checks \
                (MODULE_INIT_IGNORE_MODVERSIONS 1, MODULE_INIT_IGNORE_VERMAGIC 2) or, since Linux 5.17, let the \
                kernel decompress the file (MODULE_INIT_COMPRESSED_FILE 4). moonwatch reports fd and flags as \
                integers and reads param_values at entry and again at exit.
                """,
            returns: """
                0 on success, or -errno (-EPERM, -EEXIST, -ENOEXEC, -EBADF when fd is not open for reading, \
                -EINVAL for unknown flags, key errors from signature enforcement).
                """,
            args: [
                ArgSpec("fd", "int", .int, .K, .entry, "Open descriptor of the module file."),
                ArgSpec("param_values", "const char *", .string, [.U, .TOCTOU], .both, Mod.params),
                ArgSpec("flags", "int", .int, .K, .entry, "MODULE_INIT_* flags, as an integer."),
            ],
            useCase: """
                Every module load by modprobe or insmod, legitimate or not: rootkits installed as .ko files, \
                modules loaded from unusual places such as /tmp or a memfd, and loads with the IGNORE flags that \
                force in a module built for another kernel.
                """,
            notes: [
                """
                The file is reported only as a descriptor: identify it through the openat or memfd_create that \
                returned fd in the same process. A memfd descriptor means the module never existed on disk.
                """,
                Mod.requestModule,
                Mod.disabled,
                Mod.toctou,
            ],
            related: ["init_module", "openat", "memfd_create", "execve"]),
    ]
}
