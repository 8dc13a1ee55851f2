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
                + (report.landlock_abi > 0 ? ", Landlock (ABI \(report.landlock_abi)): files read-only beneath the signature paths and the configuration" : ""),
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

/// Opens output files again (SIGUSR1, after logrotate moved them). Before the privilege drop,
/// or in a run that keeps its privileges, it opens them itself; after the drop it asks the reopen
/// helper, a process forked before the drop that can open these paths and nothing else.
final class OutputOpener {
    let paths: [String]
    private var helper = mw_opener(sock: -1, pid: 0, npaths: 0)

    init(paths: [String]) { self.paths = paths }
    deinit { mw_opener_stop(&helper) }

    /// Starts the helper (before the drop).
    func startHelper() throws {
        guard !paths.isEmpty else { return }
        var err = [CChar](repeating: 0, count: 256)
        let status = Privileges.withCStrings(paths) { mw_opener_start($0, Int32(paths.count), &helper, &err, err.count) }
        guard status == 0 else {
            let message = String(decoding: err.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw Privileges.PrivilegeError(description: "cannot start the output reopen helper: " + message)
        }
    }

    /// path -> a new descriptor, or the error for that path.
    func reopenAll() -> [(path: String, result: Result<Int32, SystemError>)] {
        guard helper.sock >= 0 else {
            return paths.map { p in
                do throws(SystemError) { return (p, .success(try FileSystem.openForOutput(p, append: true))) } catch { return (p, .failure(error)) }
            }
        }
        var fds = [Int32](repeating: -1, count: paths.count), errs = [Int32](repeating: 0, count: paths.count)
        let reached = mw_opener_reopen(&helper, &fds, &errs) == 0
        return paths.indices.map { i in
            if fds[i] >= 0 { return (paths[i], .success(fds[i])) }
            let e = reached ? errs[i] : EPIPE
            return (paths[i], .failure(SystemError("open", path: paths[i], errno: e,
                                                   reason: reached ? nil : "the reopen helper is gone")))
        }
    }
}
