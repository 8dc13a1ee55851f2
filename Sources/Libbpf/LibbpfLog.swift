#if canImport(Glibc)
import Glibc
#endif
import CLibbpf
import Synchronization

/// What libbpf printed (warnings, CO-RE relocation failures), kept so a failed load can be saved
/// and explained instead of scrolling past on standard error. libbpf has one process-wide print
/// callback (`libbpf_set_print`), hence one shared log.
public final class LibbpfLog: Sendable {
    public static let shared = LibbpfLog()
    private let text = Mutex<[UInt8]>([])
    /// MOONWATCH_LIBBPF_DEBUG=1 also echoes every line to standard error.
    let echo: Bool = getenv("MOONWATCH_LIBBPF_DEBUG") != nil

    private init() {}

    /// Installs the capture (`libbpf_set_print`). Safe to call more than once.
    public static func install() {
        // The callback receives a printf format and a va_list.
        let cb: libbpf_print_fn_t = { level, fmt, args in
            guard let fmt, let args else { return 0 }
            var buf = [CChar](repeating: 0, count: 2048)
            let n = vsnprintf(&buf, buf.count, fmt, args)
            guard n > 0 else { return 0 }
            let used = min(Int(n), buf.count - 1)
            let log = LibbpfLog.shared
            // Debug-level chatter is only useful when echoing.
            if level == LIBBPF_DEBUG && !log.echo { return n }
            buf.withUnsafeBytes { raw in
                let bytes = UnsafeRawBufferPointer(rebasing: raw[0..<used])
                log.text.withLock { t in
                    if t.count < 4 << 20 { t.append(contentsOf: bytes) }
                }
                if log.echo { _ = write(2, bytes.baseAddress, bytes.count) }
            }
            return n
        }
        _ = libbpf_set_print(cb)
    }

    /// Everything captured since the last call.
    public func take() -> String {
        let bytes = text.withLock { t -> [UInt8] in
            defer { t.removeAll() }
            return t
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}
