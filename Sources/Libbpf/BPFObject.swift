#if canImport(Glibc)
import Glibc
#endif
import CLibbpf

/// An opened (and later loaded) BPF object: `bpf_object__open_mem` … `bpf_object__close`.
/// Programs and maps belong to it (libbpf frees them with the object); their wrappers keep it
/// alive.
public final class BPFObject {
    let handle: OpaquePointer
    /// Kept alive for libbpf: the object was opened from this copy and logs go to `logBuffer`.
    private let image: UnsafeMutableRawBufferPointer
    private let logBuffer: UnsafeMutablePointer<CChar>
    private static let logSize = 8 << 20

    /// `bpf_object__open_mem`: parses the ELF image; nothing reaches the kernel yet.
    public init(image bytes: [UInt8], name: String) throws(BPFCallError) {
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
    public var verifierLog: String { String(cString: logBuffer) }

    /// Every program in the object (`bpf_object__next_program`).
    public var programs: [BPFProgram] {
        var out: [BPFProgram] = []
        var p = bpf_object__next_program(handle, nil)
        while let cur = p {
            out.append(BPFProgram(cur, object: self))
            p = bpf_object__next_program(handle, cur)
        }
        return out
    }

    /// `bpf_object__find_map_by_name`.
    public func map(_ name: String) throws(BPFCallError) -> BPFMap {
        guard let m = bpf_object__find_map_by_name(handle, name) else {
            throw BPFCallError("bpf_object__find_map_by_name", errno: ENOENT, detail: name)
        }
        return BPFMap(m, object: self)
    }

    /// `bpf_object__load`: CO-RE relocation, map creation, verification.
    public func load() throws(BPFCallError) {
        let r = bpf_object__load(handle)
        if r != 0 { throw BPFCallError("bpf_object__load", result: r) }
    }
}

/// One program of a `BPFObject`.
public struct BPFProgram {
    let handle: OpaquePointer
    /// Keeps the object (which owns the program) alive.
    public let object: BPFObject

    init(_ handle: OpaquePointer, object: BPFObject) { self.handle = handle; self.object = object }

    /// `bpf_program__name`.
    public var name: String { String(cString: bpf_program__name(handle)) }

    /// `bpf_program__set_autoload` (before load).
    public func setAutoload(_ on: Bool) throws(BPFCallError) {
        let r = bpf_program__set_autoload(handle, on)
        if r != 0 { throw BPFCallError("bpf_program__set_autoload", result: r, detail: name) }
    }

    /// `bpf_program__fd` (after load).
    public var fd: Int32 { bpf_program__fd(handle) }

    /// `bpf_program__attach`.
    public func attach() throws(BPFCallError) -> BPFLink {
        guard let l = bpf_program__attach(handle) else {
            // libbpf 1.x returns NULL with errno on failure, never an error-encoded pointer.
            throw BPFCallError("bpf_program__attach", errno: errno, detail: name)
        }
        return BPFLink(l, name: name)
    }

    /// What the kernel measured of this program (`bpf_obj_get_info_by_fd`): total run time and
    /// number of runs, counted only while statistics are enabled (`BPFStatistics`).
    public func runStatistics() throws(BPFCallError) -> (runTimeNanoseconds: UInt64, runs: UInt64) {
        var info = bpf_prog_info()
        var len = UInt32(MemoryLayout<bpf_prog_info>.size)
        let r = bpf_obj_get_info_by_fd(fd, &info, &len)
        if r != 0 { throw BPFCallError("bpf_obj_get_info_by_fd", result: r, detail: name) }
        return (info.run_time_ns, info.run_cnt)
    }
}

/// An attached program: `bpf_program__attach` … `bpf_link__destroy`.
public final class BPFLink {
    let handle: OpaquePointer
    public let name: String

    init(_ handle: OpaquePointer, name: String) { self.handle = handle; self.name = name }

    deinit { bpf_link__destroy(handle) }
}

/// Per-program run-time statistics for as long as this value lives (`bpf_enable_stats`
/// with BPF_STATS_RUN_TIME): the kernel then times every program run, which costs two clock reads
/// per run, so it is off unless asked for.
public final class BPFStatistics {
    private let fd: Int32

    /// `bpf_enable_stats(BPF_STATS_RUN_TIME)`.
    public init() throws(BPFCallError) {
        let r = bpf_enable_stats(BPF_STATS_RUN_TIME)
        if r < 0 { throw BPFCallError("bpf_enable_stats", result: r) }
        fd = r
    }

    deinit { close(fd) }
}

/// Returns once every BPF program run that started before the call has finished
/// (`membarrier(MEMBARRIER_CMD_GLOBAL)`: an RCU grace period, inside which tracing programs
/// run). Without membarrier it sleeps 50 ms, far longer than any program runs.
public func waitForRunningPrograms() {
    if mw_wait_for_bpf_programs() != 0 { usleep(50_000) }
}

/// `libbpf_num_possible_cpus`.
public func possibleCPUs() throws(BPFCallError) -> Int {
    let n = libbpf_num_possible_cpus()
    if n <= 0 { throw BPFCallError("libbpf_num_possible_cpus", result: n) }
    return Int(n)
}
