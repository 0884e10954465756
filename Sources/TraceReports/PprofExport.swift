import Symbolication
import TraceAnalysis

/// pprof's profile.proto, gzipped: one sample per allocation stack with five values (allocations,
/// bytes, bytes live at the peak, blocks and bytes never freed), read by `go tool pprof` and Pyroscope.
public enum PprofExport {
    public static let sampleTypes: [(String, String)] = [
        ("alloc_objects", "count"), ("alloc_space", "bytes"), ("peak_space", "bytes"),
        ("leaked_objects", "count"), ("leaked_space", "bytes"),
    ]

    public static func render(replay: HeapReplay, resolver: StackResolver) throws -> [UInt8] {
        var strings: [String] = [""]
        var stringIndex: [String: Int64] = ["": 0]
        func str(_ s: String) -> Int64 {
            if let i = stringIndex[s] { return i }
            strings.append(s)
            stringIndex[s] = Int64(strings.count - 1)
            return Int64(strings.count - 1)
        }
        var functions: [String: UInt64] = [:]       // "name\0file" -> id
        var functionList: [(name: Int64, system: Int64, file: Int64)] = []
        var locations: [UInt64: UInt64] = [:]       // ip -> id
        var locationList: [(ip: UInt64, mapping: UInt64, lines: [(UInt64, Int64)])] = []
        let modules = replay.reader.modules

        func mappingID(_ ip: UInt64) -> UInt64 {
            for (i, m) in modules.enumerated() {
                for s in m.segments where s.flags & 1 != 0 {
                    let lo = m.loadBias &+ s.vaddr
                    if ip >= lo && ip < lo &+ s.memsz { return UInt64(i + 1) }
                }
            }
            return 0
        }

        func location(_ ip: UInt64) -> UInt64 {
            if let id = locations[ip] { return id }
            var lines: [(UInt64, Int64)] = []
            for f in resolver.symbolizer.frames(for: ip) {
                let name = StackResolver.shortName(f)
                let key = name + "\u{0}" + (f.file ?? "")
                let fid: UInt64
                if let known = functions[key] { fid = known } else {
                    functionList.append((str(name), str(f.rawName ?? name), str(f.file ?? "")))
                    fid = UInt64(functionList.count)
                    functions[key] = fid
                }
                lines.append((fid, Int64(f.line ?? 0)))
            }
            locationList.append((ip, mappingID(ip), lines))
            let id = UInt64(locationList.count)
            locations[ip] = id
            return id
        }

        var p = ProtobufWriter()
        for (type, unit) in sampleTypes {
            let t = str(type), u = str(unit)
            p.message(1) { $0.int(1, t); $0.int(2, u) }
        }
        let sites = replay.sites
        for stack in sites.stacks {
            let i = Int(stack)
            let ids = resolver.userAddresses(stack).map(location)
            let values: [Int64] = [sites.allocations[i], sites.bytes[i], sites.peak(i),
                                   sites.liveBlocks[i], sites.liveBytes[i]].map(Saturating.signed)
            // unpacked repeated fields: every protobuf reader takes them, and `protoc --decode_raw` shows them
            p.message(2) { s in
                for id in ids { s.key(1, 0); s.varint(id) }
                for v in values { s.key(2, 0); s.varint(UInt64(bitPattern: v)) }
            }
        }
        for (i, m) in modules.enumerated() {
            let exec = m.segments.filter { $0.flags & 1 != 0 }
            let lo = exec.map { m.loadBias &+ $0.vaddr }.min() ?? m.loadBias
            let hi = exec.map { m.loadBias &+ $0.vaddr &+ $0.memsz }.max() ?? m.loadBias
            let file = str(m.path)
            let build = str(m.buildID.map { Formatting.hexByte($0) }.joined())
            p.message(3) { w in
                w.uint(1, UInt64(i + 1)); w.uint(2, lo); w.uint(3, hi)
                w.int(5, file); w.int(6, build)
                w.bool(7, true); w.bool(8, true); w.bool(9, true); w.bool(10, true)
            }
        }
        for (n, loc) in locationList.enumerated() {
            p.message(4) { w in
                w.uint(1, UInt64(n + 1)); w.uint(2, loc.mapping); w.uint(3, loc.ip)
                for (fid, line) in loc.lines { w.message(4) { $0.uint(1, fid); $0.int(2, line) } }
            }
        }
        for (n, f) in functionList.enumerated() {
            p.message(5) { w in w.uint(1, UInt64(n + 1)); w.int(2, f.name); w.int(3, f.system); w.int(4, f.file) }
        }
        // every string must be in the table before it is written
        let spaceType = str("space"), bytesUnit = str("bytes"), defaultType = str("alloc_space")
        // a sampled trace's values are estimates: pprof's comment (field 13) says so
        let comment = replay.reader.sampling.map { str($0.note) }
        for s in strings { p.string(6, s) }
        p.int(9, Int64(replay.reader.process?.startWallNanoseconds ?? 0))
        p.int(10, replay.nanoseconds(replay.figures.lastTicks))
        p.message(11) { $0.int(1, spaceType); $0.int(2, bytesUnit) }
        if let comment { p.int(13, comment) }
        p.int(14, defaultType)
        return try Gzip.compress(p.bytes)
    }
}
