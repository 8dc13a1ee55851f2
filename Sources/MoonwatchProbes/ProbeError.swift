/// Why live capture could not start. Every message says what to do, and points at `replay`,
/// which needs no privileges.
public enum ProbeError: Error, Sendable, CustomStringConvertible, Equatable {
    /// Neither root nor the capabilities eBPF tracing needs.
    case notPermitted(euid: UInt32, missing: [String])
    /// The kernel refused a bpf(2) operation with EPERM even though we looked privileged
    /// (lockdown, a seccomp filter, a container without the capability, ...).
    case refused(String)
    /// No /sys/kernel/btf/vmlinux: CO-RE cannot relocate the programs.
    case noBTF(path: String)
    /// The verifier (or libbpf's CO-RE step) rejected the programs; the log is saved.
    case verifierRejected(program: String, logPath: String?, summary: String)
    /// Loading worked but attaching did not, in every mode tried.
    case attachFailed(String)
    /// The embedded object is missing or damaged (a build problem).
    case objectMissing(String)
    /// Anything else from libbpf or bpf(2).
    case system(String)

    static let replayHint = "Without privileges, `moonwatch replay FILE` runs the same signatures on captured events."

    public var description: String {
        switch self {
        case .notPermitted(let euid, let missing):
            return """
                live capture needs root, or CAP_BPF and CAP_PERFMON (running as uid \(euid), missing \
                \(missing.joined(separator: ", "))). Run it with sudo. \(ProbeError.replayHint)
                """
        case .refused(let what):
            return """
                the kernel refused to load the eBPF programs (\(what)). Check that you are root in the initial \
                user namespace, that kernel lockdown and seccomp allow bpf(2), and that \
                kernel.unprivileged_bpf_disabled is not the issue. \(ProbeError.replayHint)
                """
        case .noBTF(let path):
            return """
                this kernel has no BTF type information (\(path) is missing), which moonwatch's CO-RE probes \
                need; use a kernel built with CONFIG_DEBUG_INFO_BTF=y. \(ProbeError.replayHint)
                """
        case .verifierRejected(let program, let logPath, let summary):
            let saved = logPath.map { "the full verifier log is saved in \($0)" } ?? "the verifier log could not be saved"
            return """
                the kernel's BPF verifier rejected program \(program): \(summary) — \(saved). \
                Please report it with that file and `uname -r`. \(ProbeError.replayHint)
                """
        case .attachFailed(let what):
            return "could not attach the probes: \(what). \(ProbeError.replayHint)"
        case .objectMissing(let what):
            return "the embedded eBPF object is unusable (\(what)); rebuild moonwatch. \(ProbeError.replayHint)"
        case .system(let what):
            return "live capture failed: \(what). \(ProbeError.replayHint)"
        }
    }
}
