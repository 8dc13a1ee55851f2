#if canImport(Glibc)
import Glibc
#endif
import CLibbpf

/// Receives ring-buffer records, on the thread that polls.
public protocol RingBufferConsumer: AnyObject {
    /// One record, straight from the ring's shared pages: valid only during the call.
    func record(_ bytes: UnsafeRawBufferPointer)
}

/// A BPF ring buffer being read: `ring_buffer__new` … `ring_buffer__free`. Confined to one thread.
public final class RingBuffer {
    private let handle: OpaquePointer
    /// Keeps the map's object alive.
    private let map: BPFMap
    /// The callback's context: libbpf holds it unretained, this keeps it alive.
    private let box: Box

    /// Unowned: the consumer typically owns its ring buffer.
    private final class Box {
        unowned let consumer: RingBufferConsumer
        init(_ c: RingBufferConsumer) { consumer = c }
    }

    /// `ring_buffer__new` on a BPF_MAP_TYPE_RINGBUF map. `consumer` must outlive the ring buffer
    /// (it usually owns it).
    public init(map: BPFMap, consumer: RingBufferConsumer) throws(BPFCallError) {
        let box = Box(consumer)
        let ctx = Unmanaged.passUnretained(box).toOpaque()
        let cb: ring_buffer_sample_fn = { ctx, data, size in
            Unmanaged<Box>.fromOpaque(ctx!).takeUnretainedValue().consumer.record(UnsafeRawBufferPointer(start: data, count: size))
            return 0
        }
        guard let rb = ring_buffer__new(map.fd, cb, ctx, nil) else {
            throw BPFCallError("ring_buffer__new", errno: errno, detail: map.name)
        }
        handle = rb
        self.map = map
        self.box = box
    }

    deinit { ring_buffer__free(handle) }

    /// `ring_buffer__poll`: waits up to `milliseconds` for the kernel to signal data, then
    /// consumes what is there. Returns the records consumed; an interrupted wait is 0 records.
    @discardableResult
    public func poll(milliseconds: Int32) throws(BPFCallError) -> Int {
        let r = ring_buffer__poll(handle, milliseconds)
        if r < 0 {
            if r == -EINTR { return 0 }
            throw BPFCallError("ring_buffer__poll", result: r, detail: map.name)
        }
        return Int(r)
    }

    /// `ring_buffer__consume`: everything available now, without waiting.
    @discardableResult
    public func consume() throws(BPFCallError) -> Int {
        let r = ring_buffer__consume(handle)
        if r < 0 { throw BPFCallError("ring_buffer__consume", result: r, detail: map.name) }
        return Int(r)
    }
}
