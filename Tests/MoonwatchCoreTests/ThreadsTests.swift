#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore
import Synchronization
import XCTest

/// The pthread helpers the producer threads (ring-buffer reader, replay prefetcher) stand on.
final class ThreadsTests: XCTestCase {
    func testStartThreadRunsTheBodyOnAnotherThreadAndJoins() throws {
        let ran = Atomic<Int>(0)
        let caller = pthread_self()
        let sameThread = Atomic<Bool>(true)
        let tid = try XCTUnwrap(startThread {
            sameThread.store(pthread_equal(pthread_self(), caller) != 0, ordering: .relaxed)
            ran.add(1, ordering: .relaxed)
        })
        XCTAssertEqual(pthread_join(tid, nil), 0)
        XCTAssertEqual(ran.load(ordering: .relaxed), 1)
        XCTAssertFalse(sameThread.load(ordering: .relaxed))
    }

    /// A bounded hand-off like PrefetchSource's: the producer waits while the buffer is full, the
    /// consumer wakes it; every item arrives once and in order.
    func testConditionHandsOffEveryItemInOrderThroughABoundedBuffer() throws {
        final class Box: @unchecked Sendable {
            let cond = Condition()
            var items: [Int] = []
            var maxSeen = 0
        }
        let box = Box()
        let n = 5000, depth = 4
        let tid = try XCTUnwrap(startThread {
            for i in 0..<n {
                box.cond.lock()
                while box.items.count >= depth { box.cond.wait() }
                box.items.append(i)
                box.maxSeen = max(box.maxSeen, box.items.count)
                box.cond.broadcast()
                box.cond.unlock()
            }
        })
        var received: [Int] = []
        while received.count < n {
            box.cond.lock()
            while box.items.isEmpty { box.cond.wait() }
            received.append(contentsOf: box.items)
            box.items.removeAll()
            box.cond.broadcast()
            box.cond.unlock()
        }
        pthread_join(tid, nil)
        XCTAssertEqual(received, Array(0..<n))
        XCTAssertLessThanOrEqual(box.maxSeen, depth)
    }

    func testTimedWaitReturnsWithoutABroadcast() {
        let c = Condition()
        // No one broadcasts: each wait must come back by its own deadline (bounded loop, no timing asserted).
        c.withLock { for _ in 0..<3 { c.wait(milliseconds: 5) } }
        c.withLock { c.wait(milliseconds: 1500) }   // crosses a whole second: tv_nsec must stay normalized
        XCTAssertEqual(c.withLock { 42 }, 42, "the lock is free again after timed waits")
    }

    func testWithLockReleasesTheLockWhenTheBodyThrows() throws {
        struct Boom: Error {}
        let c = Condition()
        XCTAssertThrowsError(try c.withLock { throw Boom() })
        let acquired = Atomic<Bool>(false)
        let tid = try XCTUnwrap(startThread { c.lock(); acquired.store(true, ordering: .relaxed); c.unlock() })
        pthread_join(tid, nil)
        XCTAssertTrue(acquired.load(ordering: .relaxed))
    }
}
