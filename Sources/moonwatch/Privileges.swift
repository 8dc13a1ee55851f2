#if canImport(Glibc)
import Glibc
#endif
import ArgumentParser
import CMoonwatchPrivileges
import MoonwatchCore

/// What `run` gives up once the probes are attached, the ring buffer is open and the outputs are
/// open (see privileges.c and docs/architecture.md, "After attach"): every capability,
/// no_new_privs, file access beyond reading the signature paths (Landlock), and every system call
/// the running loop does not need (seccomp), in every thread.
enum Privileges {
    /// Capabilities the loop keeps. None: map lookups and updates through descriptors the process
    /// already holds need no capability on the kernels moonwatch supports (6.5+).
    static let kept: UInt64 = 0

    static func dropAfterAttach(signaturePaths: [String]) throws {
        var report = mw_drop_report()
        var cPaths = signaturePaths.map { strdup($0) }
        defer { cPaths.forEach { free($0) } }
        let status = cPaths.withUnsafeMutableBufferPointer { buf in
            buf.withMemoryRebound(to: UnsafePointer<CChar>?.self) { paths in
                mw_drop_privileges(paths.baseAddress, Int32(paths.count), kept, &report)
            }
        }
        let error = text(&report.error), warning = text(&report.warning)
        guard status == 0 else {
            throw PrivilegeError(description: "cannot drop privileges after attaching the probes: \(error); refusing to run with them")
        }
        if !warning.isEmpty { note(warning) }
        note("privileges dropped in \(report.threads) threads: no capabilities, no_new_privs, seccomp allow-list"
             + (report.landlock_abi > 0 ? ", Landlock (ABI \(report.landlock_abi)): files read-only beneath the signature paths" : ""))
    }

    struct PrivilegeError: Error, CustomStringConvertible { var description: String }

    private static func text<T>(_ tuple: inout T) -> String {
        withUnsafeBytes(of: &tuple) { String(decoding: $0.prefix { $0 != 0 }, as: UTF8.self) }
    }
}
