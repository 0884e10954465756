import Foundation
import XCTest
import TraceFormat
import TraceReader

/// The recorder's C code numbers regions (`AT_REGION_*`) and world-stop reasons (`AT_STW_*`) in its
/// headers; the trace carries those numbers and the reader decodes them with TraceFormat's enums.
/// Read from the headers the recorder is compiled with, the two must agree name by name.
final class HeapSnapshotNumberingTests: XCTestCase {
    /// `NAME = value` pairs of the C enumerators starting with `prefix` in a recorder header.
    private func enumerators(_ header: String, prefix: String) throws -> [String: UInt8] {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("preload/CRecorderSupport/include/" + header), encoding: .utf8)
        let pattern = try NSRegularExpression(pattern: "\\b(" + prefix + "[A-Z_]+)\\s*=\\s*([0-9]+)")
        var out: [String: UInt8] = [:]
        for m in pattern.matches(in: text, range: NSRange(text.startIndex..., in: text)) {
            let name = String(text[Range(m.range(at: 1), in: text)!])
            out[name] = UInt8(text[Range(m.range(at: 2), in: text)!])
        }
        return out
    }

    func testRegionKindsAreTheRecordersNumbers() throws {
        let c = try enumerators("recorder_support.h", prefix: "AT_REGION_")
        let names: [HeapRegionKind: String] = [.module: "AT_REGION_MODULE", .stack: "AT_REGION_STACK",
                                               .anonymous: "AT_REGION_ANON", .heap: "AT_REGION_HEAP", .tls: "AT_REGION_TLS"]
        XCTAssertEqual(c.count, HeapRegionKind.allCases.count, "\(c)")
        for kind in HeapRegionKind.allCases { XCTAssertEqual(c[names[kind]!], kind.rawValue, "\(kind)") }
    }

    func testWorldStopReasonsAreTheRecordersNumbers() throws {
        let c = try enumerators("stop_the_world.h", prefix: "AT_STW_")
        let names: [HeapWorldStopReason: String] = [
            .stopped: "AT_STW_OK", .ptraceRefused: "AT_STW_ATTACH", .timeout: "AT_STW_TIMEOUT",
            .procUnreadable: "AT_STW_PROC", .tooManyThreads: "AT_STW_TOO_MANY", .noTracer: "AT_STW_CLONE",
            .notDumpable: "AT_STW_DUMPABLE", .tracerDied: "AT_STW_TRACER_DIED", .disabled: "AT_STW_DISABLED",
            .unsupported: "AT_STW_UNSUPPORTED"]
        for kind in HeapWorldStopReason.allCases { XCTAssertEqual(c[names[kind]!], kind.rawValue, "\(kind)") }
        XCTAssertEqual(Set(names.values), Set(c.keys.filter { !$0.hasPrefix("AT_STW_MAX") }), "a reason only one side knows")
    }

    func testPartKindsAreNumberedFromZeroWithoutGaps() {
        XCTAssertEqual(HeapSnapshotPartKind.allCases.map(\.rawValue), Array(0...11))
        XCTAssertEqual(PythonNameEntryKind.allCases.map(\.rawValue), Array(1...5))
    }

    func testRegisterNumbersAndNames() {
        XCTAssertEqual(HeapRegisterNumber.name(3), "rbx")
        XCTAssertEqual(HeapRegisterNumber.name(16), "rip")
        XCTAssertEqual(HeapRegisterNumber.name(HeapRegisterNumber.xmmLow(3)), "xmm3")
        XCTAssertEqual(HeapRegisterNumber.name(HeapRegisterNumber.xmmHigh(15)), "xmm15.hi")
        XCTAssertEqual(HeapRegisterNumber.name(40), "register 40")
    }

    func testPaddedVarintsDecodeAsVarints() {
        for value: UInt64 in [0, 1, 127, 128, 300, 1 << 28, (1 << 35) - 1] {
            var bytes = [UInt8](repeating: 0xEE, count: Varint.paddedBytes)
            bytes.withUnsafeMutableBufferPointer { Varint.writePadded(value, to: $0.baseAddress!) }
            var decoded: UInt64 = 0
            for (k, b) in bytes.enumerated() { decoded |= UInt64(b & 0x7F) << (7 * UInt64(k)) }
            XCTAssertEqual(decoded, value)
            XCTAssertEqual(bytes.last! & 0x80, 0)
            XCTAssertTrue(bytes.dropLast().allSatisfy { $0 & 0x80 != 0 })
        }
    }
}
