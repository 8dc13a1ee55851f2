#if canImport(Glibc)
import Glibc
#endif

/// A libbpf or bpf(2) call that failed: the C function's name and the errno it reported, taken
/// at once (before anything else can overwrite `errno`).
public struct BPFCallError: Error, Sendable, CustomStringConvertible, Equatable {
    /// The C function, e.g. "bpf_object__load".
    public var call: String
    public var errno: Int32
    /// What it was called on (a program or map name), when that helps.
    public var detail: String

    public init(_ call: String, errno: Int32, detail: String = "") {
        self.call = call; self.errno = errno; self.detail = detail
    }

    /// From a libbpf return value: a negative errno, or -1 with errno set.
    init(_ call: String, result: Int32, detail: String = "") {
        self.init(call, errno: result < -1 ? -result : Glibc.errno, detail: detail)
    }

    public var description: String {
        "\(call)\(detail.isEmpty ? "" : " (\(detail))") failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}
