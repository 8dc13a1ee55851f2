#if canImport(Glibc)
import Glibc
#endif
import CLibbpf

/// One map of a `BPFObject`. Usable from any thread: its operations are bpf(2) calls on the
/// map's fd, and the libbpf handle is only read.
public struct BPFMap: @unchecked Sendable {
    let handle: OpaquePointer
    /// Keeps the object (which owns the map) alive.
    public let object: BPFObject

    init(_ handle: OpaquePointer, object: BPFObject) { self.handle = handle; self.object = object }

    /// `bpf_map__name`.
    public var name: String { String(cString: bpf_map__name(handle)) }

    /// `bpf_map__fd` (after load; negative before).
    public var fd: Int32 { bpf_map__fd(handle) }

    /// `bpf_map__set_max_entries` (before load).
    public func setMaxEntries(_ n: UInt32) throws(BPFCallError) {
        let r = bpf_map__set_max_entries(handle, n)
        if r != 0 { throw BPFCallError("bpf_map__set_max_entries", result: r, detail: name) }
    }

    /// The writable initial image of a global-data map (`bpf_map__initial_value`), before load.
    /// Not the live map: libbpf 1.1 copies it into the kernel at load and keeps its own copy.
    public func initialValue() throws(BPFCallError) -> UnsafeMutableRawBufferPointer {
        var size = 0
        guard let p = bpf_map__initial_value(handle, &size) else {
            throw BPFCallError("bpf_map__initial_value", errno: EINVAL, detail: name)
        }
        return UnsafeMutableRawBufferPointer(start: UnsafeMutableRawPointer(mutating: p), count: size)
    }

    /// The live value of a memory-mappable array map (global `.data`/`.bss` sections), shared
    /// with the programs (`mmap` of the map fd, after load).
    public func mapShared() throws(BPFCallError) -> BPFMappedMemory {
        let size = Int(bpf_map__value_size(handle)) * Int(bpf_map__max_entries(handle))
        return try BPFMappedMemory(fd: fd, size: size, object: object, name: name)
    }

    /// `bpf_map_update_elem` with BPF_ANY.
    public func update<K: BitwiseCopyable, V: BitwiseCopyable>(key: K, value: V) throws(BPFCallError) {
        var k = key, v = value
        let r = withUnsafeBytes(of: &k) { kp in withUnsafeBytes(of: &v) { vp in
            bpf_map_update_elem(fd, kp.baseAddress, vp.baseAddress, UInt64(BPF_ANY))
        } }
        if r != 0 { throw BPFCallError("bpf_map_update_elem", result: r, detail: name) }
    }

    /// `bpf_map_lookup_elem` on a per-CPU map: the value of every possible CPU, each value
    /// `valueSize` bytes (rounded up to 8 by the kernel), into `into` (reused by the caller).
    public func lookupPerCPU(key: UInt32, cpus: Int, valueSize: Int, into buf: inout [UInt8]) throws(BPFCallError) {
        var k = key
        let stride = (valueSize + 7) & ~7
        if buf.count != stride * cpus { buf = [UInt8](repeating: 0, count: stride * cpus) }
        let r = buf.withUnsafeMutableBytes { bpf_map_lookup_elem(fd, &k, $0.baseAddress) }
        if r != 0 { throw BPFCallError("bpf_map_lookup_elem", result: r, detail: name) }
    }
}

/// A map's value mapped into this process (`mmap` … `munmap`).
public final class BPFMappedMemory: @unchecked Sendable {
    public let bytes: UnsafeMutableRawBufferPointer
    /// The maps live as long as their object.
    private let object: BPFObject

    init(fd: Int32, size: Int, object: BPFObject, name: String) throws(BPFCallError) {
        let length = (size + 4095) & ~4095
        guard let p = mmap(nil, length, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), p != MAP_FAILED else {
            throw BPFCallError("mmap", errno: errno, detail: name)
        }
        bytes = UnsafeMutableRawBufferPointer(start: p, count: size)
        self.object = object
    }

    deinit { munmap(bytes.baseAddress, (bytes.count + 4095) & ~4095) }
}
