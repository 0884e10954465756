import XCTest
import TraceFormat
@testable import TraceReader

final class VarintTests: XCTestCase {
    private func encode(_ v: UInt64) -> [UInt8] {
        var buf = [UInt8](repeating: 0, count: Varint.maxBytes)
        let n = buf.withUnsafeMutableBufferPointer { b in Varint.write(v, to: b.baseAddress!) - b.baseAddress! }
        return Array(buf.prefix(n))
    }

    private func decode(_ bytes: [UInt8]) -> (UInt64?, consumed: Int) {
        bytes.withUnsafeBufferPointer { b in
            let base = b.baseAddress ?? UnsafePointer(bitPattern: 0x1000)!
            var p = base
            let v = readVarint(&p, base + b.count)
            return (v, p - base)
        }
    }

    func testEncodingsOfEdgeValues() {
        XCTAssertEqual(encode(0), [0x00])
        XCTAssertEqual(encode(1), [0x01])
        XCTAssertEqual(encode(127), [0x7F])
        XCTAssertEqual(encode(128), [0x80, 0x01])
        XCTAssertEqual(encode(300), [0xAC, 0x02])
        XCTAssertEqual(encode(16383), [0xFF, 0x7F])
        XCTAssertEqual(encode(16384), [0x80, 0x80, 0x01])
        XCTAssertEqual(encode(UInt64(UInt32.max)), [0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
        XCTAssertEqual(encode(UInt64.max), [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01])
        XCTAssertEqual(encode(1 << 63), [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x01])
    }

    func testRoundTrips() {
        var values: [UInt64] = [0, 1, 127, 128, 255, 256, 16383, 16384, 1 << 21 - 1, 1 << 21,
                                UInt64(UInt32.max), 1 << 32, 1 << 56 - 1, 1 << 56, 1 << 63 - 1, 1 << 63, UInt64.max - 1, UInt64.max]
        for shift in 0..<64 { values.append(1 << UInt64(shift)); values.append((1 << UInt64(shift)) - 1) }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 { values.append(rng.next() >> (rng.next() % 64)) }
        for v in values {
            let bytes = encode(v)
            XCTAssertEqual(bytes.count, Varint.size(v), "size of \(v)")
            let (decoded, consumed) = decode(bytes + [0x55])  // a following byte is left alone
            XCTAssertEqual(decoded, v)
            XCTAssertEqual(consumed, bytes.count)
        }
    }

    func testZigzag() {
        let pairs: [(Int64, UInt64)] = [(0, 0), (-1, 1), (1, 2), (-2, 3), (2, 4), (63, 126), (-64, 127),
                                        (Int64.max, UInt64.max - 1), (Int64.min, UInt64.max)]
        for (s, z) in pairs {
            XCTAssertEqual(Varint.zigzag(s), z, "zigzag(\(s))")
            XCTAssertEqual(Varint.unzigzag(z), s, "unzigzag(\(z))")
        }
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let v = Int64(bitPattern: rng.next()) >> Int64(rng.next() % 64)
            XCTAssertEqual(Varint.unzigzag(Varint.zigzag(v)), v)
            // The reader's cursor decodes what the writer encodes.
            var buf = [UInt8](repeating: 0, count: Varint.maxBytes)
            let n = buf.withUnsafeMutableBufferPointer { b in Varint.writeSigned(v, to: b.baseAddress!) - b.baseAddress! }
            buf.withUnsafeBytes { raw in
                var c = ByteCursor(UnsafeRawBufferPointer(rebasing: raw.prefix(n)))
                XCTAssertEqual(try? c.svarint(), v)
                XCTAssertTrue(c.isAtEnd)
            }
        }
    }

    func testMalformedAndShortVarints() {
        // Runs out of bytes: nil, nothing consumed, classified as short.
        for bytes: [UInt8] in [[], [0x80], [0xFF, 0xFF], [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80]] {
            let (v, consumed) = decode(bytes)
            XCTAssertNil(v)
            XCTAssertEqual(consumed, 0)
            bytes.withUnsafeBufferPointer { b in
                let base = b.baseAddress ?? UnsafePointer(bitPattern: 0x1000)!
                guard case .short = varintFailure(base, base + b.count) else { return XCTFail("\(bytes) not short") }
            }
        }
        // More than 64 bits: an 11th byte, or a 10th byte above 1.
        let overlong: [[UInt8]] = [
            [0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00],
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x02],
            [0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x81, 0x00],
        ]
        for bytes in overlong {
            let (v, consumed) = decode(bytes)
            XCTAssertNil(v, "\(bytes)")
            XCTAssertEqual(consumed, 0)
            bytes.withUnsafeBufferPointer { b in
                guard case .malformedVarint = varintFailure(b.baseAddress!, b.baseAddress! + b.count) else {
                    return XCTFail("\(bytes) not malformed")
                }
            }
        }
        // Non-minimal but within 64 bits is accepted.
        XCTAssertEqual(decode([0x81, 0x80, 0x00]).0, 1)
    }

    func testCursorFields() throws {
        var bytes: [UInt8] = []
        TestTraceWriter.varint(5_000_000_000, into: &bytes)
        TestTraceWriter.string("héllo", into: &bytes)
        bytes += [3, 0xDE, 0xAD, 0xBF, 7]
        TestTraceWriter.varint(UInt64(UInt32.max) + 1, into: &bytes)
        try bytes.withUnsafeBytes { raw in
            var c = ByteCursor(raw)
            XCTAssertEqual(try c.varint(), 5_000_000_000)
            XCTAssertEqual(try c.string(), "héllo")
            XCTAssertEqual(try c.bytes(), [0xDE, 0xAD, 0xBF])
            XCTAssertEqual(try c.u8(), 7)
            XCTAssertThrowsError(try c.id32("thread index")) { e in
                guard case FieldError.impossible(let m) = e else { return XCTFail("\(e)") }
                XCTAssertEqual(m, "thread index 4294967296 does not fit 32 bits")
            }
            XCTAssertTrue(c.isAtEnd)
            XCTAssertThrowsError(try c.u8())
        }
        // A string longer than the payload is short, not a trap.
        try [UInt8]([10, 0x41]).withUnsafeBytes { raw in
            var c = ByteCursor(raw)
            XCTAssertThrowsError(try c.string()) { e in
                guard case FieldError.short = e else { return XCTFail("\(e)") }
            }
        }
        // An empty buffer.
        var empty = ByteCursor(UnsafeRawBufferPointer(start: nil, count: 0))
        XCTAssertTrue(empty.isAtEnd)
        XCTAssertThrowsError(try empty.varint())
    }
}
