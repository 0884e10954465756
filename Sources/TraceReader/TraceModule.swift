/// A `module` record: an ELF object mapped into the process, with its segments.
public struct TraceModule: Sendable, Equatable {
    /// One PT_LOAD segment: mapped at `loadBias + vaddr`, `memsz` bytes, `flags` PF_X=1, PF_W=2, PF_R=4.
    public struct Segment: Sendable, Equatable {
        public var vaddr: UInt64
        public var memsz: UInt64
        public var flags: UInt8
        public init(vaddr: UInt64, memsz: UInt64, flags: UInt8) {
            self.vaddr = vaddr
            self.memsz = memsz
            self.flags = flags
        }
        /// "r-x" style.
        public var permissions: String {
            (flags & 4 != 0 ? "r" : "-") + (flags & 2 != 0 ? "w" : "-") + (flags & 1 != 0 ? "x" : "-")
        }
    }

    public var id: UInt64
    public var loadBias: UInt64
    public var ticks: UInt64
    public var path: String
    public var buildID: [UInt8]
    public var segments: [Segment]
    /// Set by a later `module_unload` record.
    public var unloadTicks: UInt64?

    public init(id: UInt64, loadBias: UInt64, ticks: UInt64, path: String, buildID: [UInt8],
                segments: [Segment], unloadTicks: UInt64? = nil) {
        self.id = id
        self.loadBias = loadBias
        self.ticks = ticks
        self.path = path
        self.buildID = buildID
        self.segments = segments
        self.unloadTicks = unloadTicks
    }

    /// The build id as lowercase hex ("" when absent).
    public var buildIDHex: String {
        let digits: [Character] = Array("0123456789abcdef")
        var s = ""
        s.reserveCapacity(buildID.count * 2)
        for b in buildID {
            s.append(digits[Int(b >> 4)])
            s.append(digits[Int(b & 15)])
        }
        return s
    }

    /// True when `address` lies in one of the module's segments.
    public func contains(_ address: UInt64) -> Bool {
        for s in segments {
            let lo = loadBias &+ s.vaddr
            if address >= lo && address &- lo < s.memsz { return true }
        }
        return false
    }

    static func parse(_ c: inout ByteCursor) throws(FieldError) -> TraceModule {
        let id = try c.varint()
        let bias = try c.varint()
        let ticks = try c.varint()
        let path = try c.string()
        let buildID = try c.bytes()
        let count = try c.varint()
        // Each segment takes at least 3 bytes.
        guard count <= UInt64(c.remaining / 3) else { throw .short }
        var segments: [Segment] = []
        segments.reserveCapacity(Int(count))
        for _ in 0..<count {
            let vaddr = try c.varint()
            let memsz = try c.varint()
            let flags = try c.u8()
            segments.append(Segment(vaddr: vaddr, memsz: memsz, flags: flags))
        }
        return TraceModule(id: id, loadBias: bias, ticks: ticks, path: path, buildID: buildID, segments: segments)
    }
}
