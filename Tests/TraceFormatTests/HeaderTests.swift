import XCTest
import TraceFormat
import TraceReader

/// Opening: missing files, empty files, wrong magic, other versions.
final class HeaderTests: XCTestCase {
    private func openError(_ path: String) -> TraceError? {
        do {
            _ = try TraceReader(path: path)
            return nil
        } catch {
            return error
        }
    }

    func testMissingFile() {
        let path = TempTrace.directory + "/does-not-exist.atrace"
        XCTAssertEqual(openError(path), .unreadable(path: path, reason: "No such file or directory"))
        XCTAssertEqual(openError(path)?.description, "cannot read trace '\(path)': No such file or directory")
    }

    func testDirectory() {
        let path = TempTrace.directory
        XCTAssertEqual(openError(path), .unreadable(path: path, reason: "Is a directory"))
    }

    func testEmptyFile() {
        let path = TempTrace.write([], name: "empty.atrace")
        XCTAssertEqual(openError(path), .empty(path: path))
        XCTAssertEqual(openError(path)?.description, "'\(path)' is empty: no trace was recorded in it")
    }

    func testWrongMagic() {
        var bytes = TruncationTests.smallTrace().fileBytes()
        bytes[3] = UInt8(ascii: "X")
        let path = TempTrace.write(bytes, name: "magic.atrace")
        XCTAssertEqual(openError(path), .notATrace(path: path))
        XCTAssertEqual(openError(path)?.description, "'\(path)' is not an alloctrace trace (it does not start with \"ALCTRACE\")")
        let text = TempTrace.write(Array("hello world, this is text\n".utf8), name: "text.atrace")
        XCTAssertEqual(openError(text), .notATrace(path: text))
        let short = TempTrace.write(Array("ALX".utf8), name: "short.atrace")
        XCTAssertEqual(openError(short), .notATrace(path: short))
    }

    func testFutureVersion() {
        let path = TempTrace.write(TruncationTests.smallTrace().fileBytes(version: 4), name: "v4.atrace")
        XCTAssertEqual(openError(path), .unsupportedVersion(path: path, version: 4))
        XCTAssertEqual(openError(path)?.description,
                       "'\(path)': trace format version 4 is newer than this alloctrace (reads versions 1 to 3); upgrade alloctrace")
        let v0 = TempTrace.write(TruncationTests.smallTrace().fileBytes(version: 0), name: "v0.atrace")
        XCTAssertEqual(openError(v0)?.description,
                       "'\(v0)': trace format version 0 is not one this alloctrace reads (it reads versions 1 to 3)")
        // version 3 (a sampled trace's) opens; without its sampling record it has no rate
        let v3 = TempTrace.write(TruncationTests.smallTrace().fileBytes(version: 3), name: "v3.atrace")
        XCTAssertNil(openError(v3))
        // Only the version's bytes present: still the version error.
        let cut = TempTrace.write(Array(TestTraceWriter.header(version: 513).prefix(10)), name: "v513.atrace")
        XCTAssertEqual(openError(cut), .unsupportedVersion(path: cut, version: 513))
    }

    func testShortHeaderIsATruncatedTrace() throws {
        for n in 1..<16 {
            let reader = try open(Array(TestTraceWriter.header().prefix(n)), name: "h.atrace")
            XCTAssertFalse(reader.headerComplete)
            XCTAssertNil(reader.process)
            let s = try reader.replay(events: { _ in })
            XCTAssertFalse(s.complete)
            XCTAssertEqual(s.cutShortReason, "the file ends inside its 16-byte header")
        }
    }
}
