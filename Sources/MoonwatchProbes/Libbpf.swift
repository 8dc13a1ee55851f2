#if canImport(Glibc)
import Glibc
#endif
import CLibbpf
import Synchronization

// Thin wrappers over the libbpf 1.1 calls moonwatch uses. Each captures errno (or libbpf's
// negative return) immediately and throws a typed error; nothing here knows about events.

/// A libbpf or bpf(2) call that failed, with the errno it reported.
public struct BPFCallError: Error, Sendable, CustomStringConvertible, Equatable {
    public var call: String
    public var errno: Int32
    public var detail: String

    init(_ call: String, errno: Int32, detail: String = "") {
        self.call = call; self.errno = errno; self.detail = detail
    }

    /// From a libbpf return value: negative errno, or -1 with errno set.
    init(_ call: String, result: Int32, detail: String = "") {
        self.init(call, errno: result < -1 ? -result : Glibc.errno, detail: detail)
    }

    public var description: String {
        "\(call)\(detail.isEmpty ? "" : " (\(detail))") failed: \(String(cString: strerror(errno))) (errno \(errno))"
    }
}

/// What libbpf printed (warnings, CO-RE relocation failures), kept so a failed load can be
/// saved and explained instead of scrolling past on standard error.
final class LibbpfLog: Sendable {
    static let shared = LibbpfLog()
    private let text = Mutex<[UInt8]>([])
    /// MOONWATCH_LIBBPF_DEBUG=1 also echoes every line to standard error.
    let echo: Bool = getenv("MOONWATCH_LIBBPF_DEBUG") != nil

    private init() {}

    /// Installs the capture. Safe to call more than once.
    static func install() {
        // libbpf_set_print: the callback receives a printf format and a va_list.
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
    func take() -> String {
        let bytes = text.withLock { t -> [UInt8] in
            defer { t.removeAll() }
            return t
        }
        return String(decoding: bytes, as: UTF8.self)
    }
}

/// An opened (and later loaded) BPF object: `bpf_object__open_mem` … `bpf_object__close`.
final class BPFObject {
    let handle: OpaquePointer
    /// Kept alive for libbpf: the object was opened from this copy and logs go to `logBuffer`.
    private let image: UnsafeMutableRawBufferPointer
    private let logBuffer: UnsafeMutablePointer<CChar>
    private static let logSize = 8 << 20

    /// `bpf_object__open_mem`: parses the ELF image, nothing reaches the kernel yet.
    init(image bytes: [UInt8], name: String) throws(BPFCallError) {
        let img = UnsafeMutableRawBufferPointer.allocate(byteCount: bytes.count, alignment: 8)
        bytes.withUnsafeBytes { img.copyMemory(from: $0) }
        let log = UnsafeMutablePointer<CChar>.allocate(capacity: BPFObject.logSize)
        log.initialize(repeating: 0, count: BPFObject.logSize)
        var opts = bpf_object_open_opts()
        opts.sz = MemoryLayout<bpf_object_open_opts>.size
        opts.kernel_log_buf = log
        opts.kernel_log_size = BPFObject.logSize
        opts.kernel_log_level = 0  // libbpf retries with level 1 into this buffer on failure
        let h = name.withCString { cname -> OpaquePointer? in
            opts.object_name = cname
            return bpf_object__open_mem(img.baseAddress, img.count, &opts)
        }
        guard let h else {
            let e = errno
            img.deallocate(); log.deallocate()
            throw BPFCallError("bpf_object__open_mem", errno: e)
        }
        image = img
        logBuffer = log
        handle = h
    }

    deinit {
        bpf_object__close(handle)
        image.deallocate()
        logBuffer.deallocate()
    }

    /// The kernel's verifier log of the last failed program load.
    var verifierLog: String { String(cString: logBuffer) }

    /// `bpf_object__find_program_by_name`.
    func program(_ name: String) -> OpaquePointer? { bpf_object__find_program_by_name(handle, name) }

    /// Every program in the object: `bpf_object__next_program`.
    var programs: [(name: String, handle: OpaquePointer)] {
        var out: [(String, OpaquePointer)] = []
        var p = bpf_object__next_program(handle, nil)
        while let cur = p {
            out.append((String(cString: bpf_program__name(cur)), cur))
            p = bpf_object__next_program(handle, cur)
        }
        return out
    }

    /// `bpf_object__find_map_by_name`.
    func map(_ name: String) throws(BPFCallError) -> OpaquePointer {
        guard let m = bpf_object__find_map_by_name(handle, name) else {
            throw BPFCallError("bpf_object__find_map_by_name", errno: ENOENT, detail: name)
        }
        return m
    }

    /// `bpf_program__set_autoload`.
    func setAutoload(_ prog: OpaquePointer, _ on: Bool) throws(BPFCallError) {
        let r = bpf_program__set_autoload(prog, on)
        if r != 0 { throw BPFCallError("bpf_program__set_autoload", result: r) }
    }

    /// `bpf_map__set_max_entries` (before load).
    func setMaxEntries(_ map: OpaquePointer, _ n: UInt32) throws(BPFCallError) {
        let r = bpf_map__set_max_entries(map, n)
        if r != 0 { throw BPFCallError("bpf_map__set_max_entries", result: r) }
    }

    /// Writable initial image of a global-data map (`bpf_map__initial_value`), before load.
    func initialValue(_ map: OpaquePointer) throws(BPFCallError) -> UnsafeMutableRawBufferPointer {
        var size = 0
        guard let p = bpf_map__initial_value(map, &size) else {
            throw BPFCallError("bpf_map__initial_value", errno: EINVAL)
        }
        return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: p), count: size)
    }

    /// `bpf_object__load`: CO-RE relocation, map creation, verification.
    func load() throws(BPFCallError) {
        let r = bpf_object__load(handle)
        if r != 0 { throw BPFCallError("bpf_object__load", result: r) }
    }
}

/// An attached program: `bpf_program__attach` … `bpf_link__destroy`.
final class BPFLink {
    let handle: OpaquePointer
    let name: String

    init(_ prog: OpaquePointer, name: String) throws(BPFCallError) {
        guard let l = bpf_program__attach(prog) else {
            throw BPFCallError("bpf_program__attach", errno: errno, detail: name)
        }
        // libbpf 1.x returns NULL with errno on failure, never an error-encoded pointer.
        handle = l
        self.name = name
    }

    deinit { bpf_link__destroy(handle) }
}

/// `bpf_map_update_elem` on a map fd.
func bpfMapUpdate<K: BitwiseCopyable, V: BitwiseCopyable>(fd: Int32, key: K, value: V) throws(BPFCallError) {
    var k = key, v = value
    let r = withUnsafeBytes(of: &k) { kp in withUnsafeBytes(of: &v) { vp in
        bpf_map_update_elem(fd, kp.baseAddress, vp.baseAddress, UInt64(BPF_ANY))
    } }
    if r != 0 { throw BPFCallError("bpf_map_update_elem", result: r) }
}

/// Per-CPU lookup (`bpf_map_lookup_elem` on a PERCPU map): one value per possible CPU.
func bpfPerCPULookup<V: BitwiseCopyable>(fd: Int32, key: UInt32, cpus: Int, as: V.Type) throws(BPFCallError) -> [V] {
    var k = key
    let stride = (MemoryLayout<V>.stride + 7) & ~7
    var raw = [UInt8](repeating: 0, count: stride * cpus)
    let r = raw.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &k, $0.baseAddress) }
    if r != 0 { throw BPFCallError("bpf_map_lookup_elem", result: r) }
    return raw.withUnsafeBytes { b in
        (0..<cpus).map { b.loadUnaligned(fromByteOffset: $0 * stride, as: V.self) }
    }
}

/// `libbpf_num_possible_cpus`.
func possibleCPUs() throws(BPFCallError) -> Int {
    let n = libbpf_num_possible_cpus()
    if n <= 0 { throw BPFCallError("libbpf_num_possible_cpus", result: n) }
    return Int(n)
}
