#if canImport(Glibc)
import Glibc
#endif
import CMoonwatchPrivileges
import MoonwatchCore

/// What `run` gives up once the probes are attached, the ring buffer is open and the outputs are
/// open (see privileges.c and docs/architecture.md, "After attach"): every capability,
/// no_new_privs, file access beyond reading the signature paths and the configuration file
/// (Landlock), and every system call the running loop does not need (seccomp), in every thread.
enum Privileges {
    /// Capabilities the loop keeps. None: map lookups and updates through descriptors the process
    /// already holds need no capability on the kernels moonwatch supports (6.5+).
    static let kept: UInt64 = 0

    /// Returns the line that says what was dropped (and a warning, if a layer is missing).
    static func dropAfterAttach(readPaths: [String]) throws -> (note: String, warning: String?) {
        var report = mw_drop_report()
        let status = withCStrings(readPaths) { mw_drop_privileges($0, Int32(readPaths.count), kept, &report) }
        let error = text(&report.error), warning = text(&report.warning)
        guard status == 0 else {
            throw PrivilegeError(description: "cannot drop privileges after attaching the probes: \(error); refusing to run with them")
        }
        return ("privileges dropped in \(report.threads) threads: no capabilities, no_new_privs, seccomp allow-list"
                + (report.landlock_abi > 0 ? ", Landlock (ABI \(report.landlock_abi)): files read-only beneath the signature paths" : ""),
                warning.isEmpty ? nil : warning)
    }

    struct PrivilegeError: Error, CustomStringConvertible { var description: String }

    static func text<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }

    static func withCStrings<R>(_ strings: [String], _ body: (UnsafePointer<UnsafePointer<CChar>?>?) -> R) -> R {
        var c = strings.map { strdup($0) }
        defer { c.forEach { free($0) } }
        return c.withUnsafeMutableBufferPointer { buf in
            buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { body($0.baseAddress) }
        }
    }
}

/// Opens files again after the privilege drop: outputs (SIGUSR1, after logrotate moved them) and
/// the configuration file (SIGHUP; an editor usually replaces it with a new file). Before the drop,
/// or in a run that keeps its privileges, it opens them itself; after the drop it asks the opener
/// helper, a process forked before the drop that can open these paths and nothing else.
final class FileOpener {
    let outputs: [String]
    let reads: [String]
    private var helper = mw_opener()

    init(outputs: [String], reads: [String]) {
        self.outputs = outputs
        self.reads = reads
        helper.sock = -1
    }
    deinit { mw_opener_stop(&helper) }

    /// Starts the helper (before the drop).
    func startHelper() throws {
        let paths = outputs + reads
        guard !paths.isEmpty else { return }
        var modes = outputs.map { _ in Int32(MW_OPEN_APPEND) } + reads.map { _ in Int32(MW_OPEN_READ) }
        var err = [CChar](repeating: 0, count: 256)
        let status = Privileges.withCStrings(paths) { mw_opener_start($0, &modes, Int32(paths.count), &helper, &err, err.count) }
        guard status == 0 else {
            let message = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Privileges.PrivilegeError(description: "cannot start the opener helper: " + message)
        }
    }

    /// Every output opened again for appending: path -> a new descriptor, or the error.
    func reopenOutputs() -> [(path: String, result: Result<Int32, SystemError>)] {
        guard helper.sock >= 0 else {
            return outputs.map { p in
                do throws(SystemError) { return (p, .success(try FileSystem.openForOutput(p, append: true))) } catch { return (p, .failure(error)) }
            }
        }
        return ask(Int32(MW_OPEN_APPEND)).filter { outputs.contains($0.path) }
    }

    /// The text of a file to read (the configuration).
    func readText(_ path: String) throws(SystemError) -> String {
        guard helper.sock >= 0, reads.contains(path) else { return try FileSystem.readText(path) }
        let answers = ask(Int32(MW_OPEN_READ))
        for a in answers where a.path != path { if case .success(let fd) = a.result { close(fd) } }
        switch answers.first(where: { $0.path == path })?.result ?? .failure(SystemError("open", path: path, errno: EIO)) {
        case .failure(let e): throw e
        case .success(let fd):
            defer { close(fd) }
            return String(decoding: try FileSystem.readAll(fd, path: path), as: UTF8.self)
        }
    }

    private func ask(_ mode: Int32) -> [(path: String, result: Result<Int32, SystemError>)] {
        let paths = outputs + reads
        var fds = [Int32](repeating: -1, count: paths.count), errs = [Int32](repeating: 0, count: paths.count)
        let reached = mw_opener_open(&helper, mode, &fds, &errs) == 0
        return paths.indices.compactMap { i in
            if errs[i] == -1 { return nil }   // the other kind
            if fds[i] >= 0 { return (paths[i], .success(fds[i])) }
            return (paths[i], .failure(SystemError("open", path: paths[i], errno: reached ? errs[i] : EPIPE,
                                                   reason: reached ? nil : "the opener helper is gone")))
        }
    }
}
