import CMoonwatchWire
import XCTest

/// The Swift view of the wire structs must match the C layout the BPF programs write.
final class WireLayoutTests: XCTestCase {
    func testHeaderLayoutMatchesC() {
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.size, Int(MW_HDR_SIZE))
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.size), 8)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.ts_enter), 16)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.ret), 32)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.pid), 40)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.bits), 62)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.cgroup), 64)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.mntns), 72)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.args), 80)
        XCTAssertEqual(MemoryLayout<mw_event_hdr>.offset(of: \mw_event_hdr.comm), 128)
    }

    func testPayloadStructsMatchC() {
        XCTAssertEqual(MemoryLayout<mw_block>.size, 8)
        XCTAssertEqual(MemoryLayout<mw_msg>.size, 32)
        XCTAssertEqual(MemoryLayout<mw_msg>.offset(of: \mw_msg.size), 24)
        XCTAssertEqual(MemoryLayout<mw_msg>.offset(of: \mw_msg.nfiles), 23)
        XCTAssertEqual(MemoryLayout<mw_mmsg>.size, 8)
        XCTAssertEqual(MemoryLayout<mw_mmsg_entry>.size, 8)
        XCTAssertEqual(MemoryLayout<mw_file>.size, 16)
        XCTAssertEqual(MemoryLayout<mw_file>.offset(of: \mw_file.ino), 8)
        XCTAssertEqual(MemoryLayout<mw_exe>.size, 24)
        XCTAssertEqual(MemoryLayout<mw_stats>.size, 64)
    }

    func testConfigLayoutMatchesC() {
        XCTAssertEqual(MemoryLayout<mw_syscall_cfg>.size, 32)
        XCTAssertEqual(MemoryLayout<mw_syscall_cfg>.stride, 32)
        XCTAssertEqual(MemoryLayout<mw_config>.offset(of: \mw_config.x64), 192)
        XCTAssertEqual(MemoryLayout<mw_config>.size, 192 + (2 * 512 + 32) * 32)
    }
}
