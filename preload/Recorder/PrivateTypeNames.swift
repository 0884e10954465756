import CRecorderSupport

/// Names that hold across runs for private Swift types (issue 14). The runtime prints a private
/// type's anonymous context as `(unknown context at $5654d5877c20)`, a run's address; this
/// rewrites `(unknown context at $ADDR).Name` into Swift's own spelling of a private
/// declaration, `(Name in _<32 hex>)`, with the discriminator from the module's symbols
/// (private_names.c). Without symbols (a stripped module), `(Name in <private +0xOFFSET>)`: the
/// context's offset in its module, stable for one build. Writer thread only.
enum PrivateTypeNames {
    static let capacity = 4096
    nonisolated(unsafe) static var scratch: UnsafeMutablePointer<UInt8>! = nil

    static func append(_ name: UnsafePointer<UInt8>, _ length: Int, to r: inout RecordBuilder) {
        guard find(name, 0, length) < length else { return r.bytes(name, length) }
        if scratch == nil {
            guard let s = at_map(capacity) else { return r.bytes(name, length) }
            scratch = s.assumingMemoryBound(to: UInt8.self)
        }
        var out = Output(p: scratch, n: 0, capacity: capacity)
        var i = 0
        while i < length {
            let at = find(name, i, length)
            out.copy(name + i, at - i)
            i = at
            guard i < length else { break }
            i += marker.utf8CodeUnitCount
            var address: UInt64 = 0
            while i < length, let d = hexValue(name[i]) { address = address << 4 | d; i += 1 }
            if i < length && name[i] == 0x29 { i += 1 }           // ")"
            var nameStart = i, nameEnd = i
            if i < length && name[i] == 0x2E {                    // ".Name" follows
                nameStart = i + 1
                nameEnd = nameStart
                while nameEnd < length && !ends(name[nameEnd]) { nameEnd += 1 }
                i = nameEnd
            }
            out.literal("(")
            if nameEnd > nameStart {
                out.copy(name + nameStart, nameEnd - nameStart)
                out.literal(" in ")
            }
            var discriminator = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
            var module: UInt32 = 0, offset: UInt64 = 0
            withUnsafeMutableBytes(of: &discriminator) { d in
                let chars = d.baseAddress!.assumingMemoryBound(to: CChar.self)
                if at_private_discriminator(address, chars, &module, &offset) != 0 {
                    out.copy(d.baseAddress!.assumingMemoryBound(to: UInt8.self), 33)
                } else {
                    out.literal("<private +0x")
                    out.hex(offset)
                    out.literal(">")
                }
            }
            out.literal(")")
        }
        r.bytes(scratch, out.n)
    }

    static let marker: StaticString = "(unknown context at $"

    /// Where the next marker starts at or after `from`; `length` when none.
    static func find(_ name: UnsafePointer<UInt8>, _ from: Int, _ length: Int) -> Int {
        let m = marker.utf8Start, k = marker.utf8CodeUnitCount
        var i = from
        while i + k <= length {
            var same = true
            for j in 0..<k where name[i + j] != m[j] { same = false; break }
            if same { return i }
            i += 1
        }
        return length
    }

    static func hexValue(_ c: UInt8) -> UInt64? {
        switch c {
        case 0x30...0x39: return UInt64(c - 0x30)
        case 0x61...0x66: return UInt64(c - 0x61 + 10)
        case 0x41...0x46: return UInt64(c - 0x41 + 10)
        default: return nil
        }
    }

    /// A character that ends a type's name in a qualified name: . < > , ( ) [ ] : ? ! space &
    static func ends(_ c: UInt8) -> Bool {
        switch c {
        case 0x2E, 0x3C, 0x3E, 0x2C, 0x28, 0x29, 0x5B, 0x5D, 0x3A, 0x3F, 0x21, 0x20, 0x26: return true
        default: return false
        }
    }

    struct Output {
        let p: UnsafeMutablePointer<UInt8>
        var n: Int
        let capacity: Int

        mutating func copy(_ src: UnsafePointer<UInt8>, _ count: Int) {
            var k = 0
            while k < count && n < capacity { p[n] = src[k]; n += 1; k += 1 }
        }

        mutating func literal(_ s: StaticString) { copy(s.utf8Start, s.utf8CodeUnitCount) }

        mutating func hex(_ v: UInt64) {
            var shift = 60
            while shift > 0 && (v >> UInt64(shift)) & 0xF == 0 { shift -= 4 }
            while shift >= 0 && n < capacity {
                let d = UInt8((v >> UInt64(shift)) & 0xF)
                p[n] = d < 10 ? 0x30 + d : 0x61 + d - 10
                n += 1
                shift -= 4
            }
        }
    }
}
