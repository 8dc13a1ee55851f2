import MoonwatchCapture
import MoonwatchCore
import XCTest

/// Capture files are opened like findings files (9.8).
final class CaptureWriterSafetyTests: ScratchDirectoryTestCase {
    func testCaptureFilesArePrivateAndLinksAreRefused() throws {
        let path = "\(dir)/cap.jsonl"
        do {
            let w = try CaptureWriter(path: path)
            try w.write([Event(kind: Catalogue.kind(named: "close")!)])
            try w.flush()
        }
        var st = stat()
        XCTAssertEqual(stat(path, &st), 0)
        XCTAssertEqual(st.st_mode & 0o777, 0o600)

        try FileSystem.write("\(dir)/target", Array("keep\n".utf8))
        XCTAssertEqual(symlink("\(dir)/target", "\(dir)/link.jsonl"), 0)
        XCTAssertThrowsError(try CaptureWriter(path: "\(dir)/link.jsonl")) { error in
            XCTAssertTrue("\(error)".contains("symbolic link"), "\(error)")
        }
        XCTAssertEqual(try FileSystem.readText("\(dir)/target"), "keep\n")
    }
}
