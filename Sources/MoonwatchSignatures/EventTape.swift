import CLuaSandbox
import MoonwatchCore

/// Flattens an `Event` into the C tape the sandbox builds Lua tables from. One tape is filled
/// per event and shared by every signature that selected it; its buffers are reused, so filling
/// does not allocate once they have grown to the largest event seen.
public final class EventTape {
    static let maximumDepth = 32

    private var nodes: UnsafeMutablePointer<mw_node>
    private var nodeCapacity: Int
    private(set) var nodeCount = 0
    private var bytes: UnsafeMutablePointer<UInt8>
    private var byteCapacity: Int
    private(set) var byteCount = 0
    public private(set) var tape = mw_tape()

    public init() {
        nodeCapacity = 256
        nodes = .allocate(capacity: nodeCapacity)
        byteCapacity = 4096
        bytes = .allocate(capacity: byteCapacity)
        SignatureRuntime.registerCatalogue()
    }

    deinit {
        nodes.deallocate()
        bytes.deallocate()
    }

    public func load(_ e: Event) {
        nodeCount = 0
        byteCount = 0
        let comm = append(e.process.comm)
        let exe = append(e.process.exe)
        let container = append(e.process.container)
        let exeFs = append(e.process.exeFs)
        for a in e.args { node(a, key: nil, depth: 0) }
        var hasExit = false
        for a in e.exitArgs {
            if a != nil { hasExit = true }
            node(a, key: nil, depth: 0)
        }
        var t = mw_tape()
        t.kind = UInt32(e.kind.rawValue)
        t.compat = e.process.compat ? 1 : 0
        t.bits = UInt16(e.process.bits)
        t.has_exit = hasExit ? 1 : 0
        t.time = e.time
        t.ret = e.ret
        t.pid = Int64(e.process.pid); t.tid = Int64(e.process.tid); t.ppid = Int64(e.process.ppid)
        t.uid = Int64(e.process.uid); t.gid = Int64(e.process.gid)
        t.cgroup = e.process.cgroup; t.mntns = e.process.mntns; t.pidns = e.process.pidns
        t.changed = e.changed
        t.late = e.late
        t.truncated = e.truncated
        switch e.via {
        case nil: t.via = UInt32(MW_VIA_SYSCALL)
        case .socketcall: t.via = UInt32(MW_VIA_SOCKETCALL)
        case .ioUring: t.via = UInt32(MW_VIA_IO_URING)
        }
        t.exe_ino = e.process.exeIno
        t.exe_dev = e.process.exeDev
        t.exe_fs_off = exeFs.0; t.exe_fs_len = exeFs.1
        t.comm_off = comm.0; t.comm_len = comm.1
        t.exe_off = exe.0; t.exe_len = exe.1
        t.container_off = container.0; t.container_len = container.1
        t.nodes = UnsafePointer(nodes)
        t.nnodes = UInt32(nodeCount)
        t.bytes = UnsafeRawPointer(bytes).assumingMemoryBound(to: CChar.self)
        t.nbytes = byteCount
        tape = t
    }

    /// One value alone (the tape's event fields stay empty): what `LuaSandbox.setGlobal` hands to C.
    func load(value: Value) {
        nodeCount = 0
        byteCount = 0
        node(value, key: nil, depth: 0)
        var t = mw_tape()
        t.nodes = UnsafePointer(nodes)
        t.nnodes = UInt32(nodeCount)
        t.bytes = UnsafeRawPointer(bytes).assumingMemoryBound(to: CChar.self)
        t.nbytes = byteCount
        tape = t
    }

    public func withTape<R>(_ body: (UnsafePointer<mw_tape>) -> R) -> R {
        withUnsafePointer(to: &tape) { body($0) }
    }

    // MARK: Building

    private func growNodes() {
        let bigger = UnsafeMutablePointer<mw_node>.allocate(capacity: nodeCapacity * 2)
        bigger.update(from: nodes, count: nodeCount)
        nodes.deallocate()
        nodes = bigger
        nodeCapacity *= 2
    }

    private func reserveBytes(_ n: Int) {
        guard byteCount + n > byteCapacity else { return }
        var cap = byteCapacity * 2
        while cap < byteCount + n { cap *= 2 }
        let bigger = UnsafeMutablePointer<UInt8>.allocate(capacity: cap)
        bigger.update(from: bytes, count: byteCount)
        bytes.deallocate()
        bytes = bigger
        byteCapacity = cap
    }

    private func append(_ s: String) -> (UInt32, UInt32) {
        let off = byteCount
        if let done = s.utf8.withContiguousStorageIfAvailable({ buf -> Bool in
            reserveBytes(buf.count)
            if buf.count > 0 { (bytes + byteCount).update(from: buf.baseAddress!, count: buf.count) }
            byteCount += buf.count
            return true
        }), done {
            return (UInt32(off), UInt32(byteCount - off))
        }
        let utf8 = Array(s.utf8)
        reserveBytes(utf8.count)
        for b in utf8 { bytes[byteCount] = b; byteCount += 1 }
        return (UInt32(off), UInt32(byteCount - off))
    }

    private func push(_ type: Int32, len: UInt32 = 0, key: (UInt32, UInt32)?, bits: UInt64 = 0) -> Int {
        if nodeCount == nodeCapacity { growNodes() }
        let i = nodeCount
        nodes[i] = mw_node()
        nodes[i].type = UInt8(type)
        nodes[i].len = len
        if let key { nodes[i].key_off = key.0; nodes[i].key_len = key.1 }
        nodes[i].u.off = bits
        nodeCount += 1
        return i
    }

    private func node(_ v: Value?, key: String?, depth: Int) {
        let k = key.map { append($0) }
        guard let v else { _ = push(Int32(MW_ABSENT), key: k); return }
        if depth >= EventTape.maximumDepth { _ = push(Int32(MW_NIL), key: k); return }
        switch v {
        case .null: _ = push(Int32(MW_NIL), key: k)
        case .bool(let b): _ = push(Int32(MW_BOOL), key: k, bits: b ? 1 : 0)
        case .int(let i): _ = push(Int32(MW_INT), key: k, bits: UInt64(bitPattern: i))
        case .uint(let u): _ = push(Int32(MW_DOUBLE), key: k, bits: Double(u).bitPattern)
        case .double(let d): _ = push(Int32(MW_DOUBLE), key: k, bits: d.bitPattern)
        case .string(let s):
            let (off, len) = append(s)
            _ = push(Int32(MW_STRING), len: len, key: k, bits: UInt64(off))
        case .array(let items):
            _ = push(Int32(MW_ARRAY), len: UInt32(items.count), key: k)
            for item in items { node(item, key: nil, depth: depth + 1) }
        case .object(let f):
            _ = push(Int32(MW_OBJECT), len: UInt32(f.count), key: k)
            for j in 0..<f.count { node(f.values[j], key: f.keys[j], depth: depth + 1) }
        }
    }
}
