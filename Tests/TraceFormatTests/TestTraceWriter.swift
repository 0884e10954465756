import CZstd
import Foundation
import TraceFormat

/// Test-only: builds the bytes of a trace (header + zstd-compressed records) by hand, exactly as
/// docs/FORMAT.md lays them out, so that the reader can be checked against known values.
struct TestTraceWriter {
    /// The uncompressed record stream.
    private(set) var stream: [UInt8] = []
    /// Offsets in `stream` after which the compressor flushes (ends a zstd block).
    private(set) var flushPoints: [Int] = []
    /// Offsets in `stream` at which a new zstd frame starts.
    private(set) var frameStarts: [Int] = []
    /// Stream offsets where each record starts (and, last, the stream's end).
    private(set) var recordStarts: [Int] = []

    // MARK: encodings

    static func varint(_ v: UInt64, into out: inout [UInt8]) {
        var v = v
        while v >= 0x80 { out.append(UInt8(truncatingIfNeeded: v) | 0x80); v >>= 7 }
        out.append(UInt8(v))
    }
    static func svarint(_ v: Int64, into out: inout [UInt8]) { varint(Varint.zigzag(v), into: &out) }
    static func string(_ s: String, into out: inout [UInt8]) {
        varint(UInt64(s.utf8.count), into: &out)
        out.append(contentsOf: Array(s.utf8))
    }

    /// A record from raw payload bytes; `flush` ends a zstd block after it.
    mutating func record(_ kind: UInt8, _ payload: [UInt8], flush: Bool = true) {
        recordStarts.append(stream.count)
        stream.append(kind)
        TestTraceWriter.varint(UInt64(payload.count), into: &stream)
        stream.append(contentsOf: payload)
        if flush { flushPoints.append(stream.count) }
    }

    /// Starts a new zstd frame before the next record.
    mutating func newFrame() { frameStarts.append(stream.count) }

    // MARK: records

    mutating func process(pid: UInt64 = 4242, ppid: UInt64 = 1, wall: UInt64 = 1_700_000_000_000_000_000,
                          startTicks: UInt64 = 1_000_000, startNs: UInt64 = 1_000_000, clock: UInt8 = 0,
                          capture: UInt8 = 1, unwind: UInt8 = 2, depth: UInt64 = 64, flushMs: UInt64 = 1000,
                          exe: String = "/usr/bin/prog", args: [String] = ["prog", "-x"],
                          version: String = "0.1.0") {
        var p: [UInt8] = []
        for v in [pid, ppid, wall, startTicks, startNs] { TestTraceWriter.varint(v, into: &p) }
        p.append(clock)
        p.append(capture)
        p.append(unwind)
        TestTraceWriter.varint(depth, into: &p)
        TestTraceWriter.varint(flushMs, into: &p)
        TestTraceWriter.string(exe, into: &p)
        TestTraceWriter.varint(UInt64(args.count), into: &p)
        for a in args { TestTraceWriter.string(a, into: &p) }
        TestTraceWriter.string(version, into: &p)
        record(RecordKind.process.rawValue, p)
    }

    mutating func module(id: UInt64, bias: UInt64, ticks: UInt64, path: String, buildID: [UInt8],
                         segments: [(UInt64, UInt64, UInt8)]) {
        var p: [UInt8] = []
        for v in [id, bias, ticks] { TestTraceWriter.varint(v, into: &p) }
        TestTraceWriter.string(path, into: &p)
        TestTraceWriter.varint(UInt64(buildID.count), into: &p)
        p.append(contentsOf: buildID)
        TestTraceWriter.varint(UInt64(segments.count), into: &p)
        for (vaddr, memsz, flags) in segments {
            TestTraceWriter.varint(vaddr, into: &p)
            TestTraceWriter.varint(memsz, into: &p)
            p.append(flags)
        }
        record(RecordKind.module.rawValue, p)
    }

    mutating func moduleUnload(id: UInt64, ticks: UInt64) {
        var p: [UInt8] = []
        TestTraceWriter.varint(id, into: &p)
        TestTraceWriter.varint(ticks, into: &p)
        record(RecordKind.moduleUnload.rawValue, p)
    }

    mutating func thread(index: UInt64, tid: UInt64, ticks: UInt64, name: String) {
        var p: [UInt8] = []
        for v in [index, tid, ticks] { TestTraceWriter.varint(v, into: &p) }
        TestTraceWriter.string(name, into: &p)
        record(RecordKind.thread.rawValue, p)
    }

    mutating func stackNodes(first: UInt64, _ nodes: [(parent: UInt64, ip: UInt64)]) {
        var p: [UInt8] = []
        TestTraceWriter.varint(first, into: &p)
        TestTraceWriter.varint(UInt64(nodes.count), into: &p)
        for n in nodes {
            TestTraceWriter.varint(n.parent, into: &p)
            TestTraceWriter.varint(n.ip, into: &p)
        }
        record(RecordKind.stackNodes.rawValue, p)
    }

    mutating func type(id: UInt64, metadata: UInt64, kind: UInt8 = 0, name: String) {
        var p: [UInt8] = []
        TestTraceWriter.varint(id, into: &p)
        TestTraceWriter.varint(metadata, into: &p)
        p.append(kind)
        TestTraceWriter.string(name, into: &p)
        record(RecordKind.type.rawValue, p)
    }

    mutating func chunk(thread: UInt64, base: UInt64, flush: Bool = true, _ build: (inout ChunkWriter) -> Void) {
        var c = ChunkWriter(base: base)
        build(&c)
        var p: [UInt8] = []
        TestTraceWriter.varint(thread, into: &p)
        TestTraceWriter.varint(base, into: &p)
        p.append(contentsOf: c.bytes)
        record(RecordKind.chunk.rawValue, p, flush: flush)
    }

    mutating func sync(watermark: UInt64, monotonicNs: UInt64, wallNs: UInt64 = 0) {
        var p: [UInt8] = []
        for v in [watermark, monotonicNs, wallNs] { TestTraceWriter.varint(v, into: &p) }
        record(RecordKind.sync.rawValue, p)
    }

    mutating func exec(ticks: UInt64, path: String) {
        var p: [UInt8] = []
        TestTraceWriter.varint(ticks, into: &p)
        TestTraceWriter.string(path, into: &p)
        record(RecordKind.exec.rawValue, p)
    }

    mutating func end(ticks: UInt64, monotonicNs: UInt64, reason: UInt8 = 0, status: Int64 = 0,
                      written: UInt64, dropped: UInt64 = 0) {
        var p: [UInt8] = []
        TestTraceWriter.varint(ticks, into: &p)
        TestTraceWriter.varint(monotonicNs, into: &p)
        p.append(reason)
        TestTraceWriter.svarint(status, into: &p)
        TestTraceWriter.varint(written, into: &p)
        TestTraceWriter.varint(dropped, into: &p)
        record(RecordKind.end.rawValue, p)
    }

    /// A heap-graph snapshot (FORMAT.md, "Heap-graph snapshots"): begin, the regions as
    /// (start, end, kind, owner), the words of each region as (address, value), end.
    mutating func heapSnapshot(id: UInt64, ticks: UInt64, trigger: UInt8 = 1, thread: UInt64 = 0,
                               regions: [(UInt64, UInt64, UInt8, UInt64)], words: [Int: [(UInt64, UInt64)]]) {
        var begin: [UInt8] = [0]
        for v in [id, ticks] { TestTraceWriter.varint(v, into: &begin) }
        begin.append(trigger)
        TestTraceWriter.varint(thread, into: &begin)
        record(RecordKind.heapSnapshot.rawValue, begin)
        var r: [UInt8] = [1]
        TestTraceWriter.varint(UInt64(regions.count), into: &r)
        for (start, end, kind, owner) in regions {
            TestTraceWriter.varint(start, into: &r)
            TestTraceWriter.varint(end, into: &r)
            r.append(kind)
            TestTraceWriter.varint(owner, into: &r)
        }
        record(RecordKind.heapSnapshot.rawValue, r)
        var count: UInt64 = 0
        for (region, list) in words.sorted(by: { $0.key < $1.key }) {
            var w: [UInt8] = [2]
            TestTraceWriter.varint(UInt64(region), into: &w)
            TestTraceWriter.varint(UInt64(list.count), into: &w)
            var at = regions[region].0, value: UInt64 = 0
            for (address, v) in list {
                TestTraceWriter.varint((address &- at) / 8, into: &w)
                var buffer = [UInt8](repeating: 0, count: 16)
                let n = buffer.withUnsafeMutableBufferPointer { b in
                    AddressDelta.write(v, against: value, to: b.baseAddress!) - b.baseAddress!
                }
                w += buffer[0..<n]
                at = address
                value = v
            }
            count += UInt64(list.count)
            record(RecordKind.heapSnapshot.rawValue, w)
        }
        var end: [UInt8] = [3]
        for v in [id, 0x1000, count, 1000] { TestTraceWriter.varint(v, into: &end) }
        record(RecordKind.heapSnapshot.rawValue, end)
    }

    // MARK: file

    static func header(version: UInt16 = 1, magic: [UInt8] = Array("ALCTRACE".utf8)) -> [UInt8] {
        magic + [UInt8(version & 0xFF), UInt8(version >> 8), 0, 0, 0, 0, 0, 0]
    }

    /// Header + `stream` compressed: one zstd block per flush point, frames as marked.
    func fileBytes(version: UInt16 = 1, checksum: Bool = false) -> [UInt8] {
        TestTraceWriter.header(version: version) + TestTraceWriter.compress(
            stream, flushPoints: flushPoints, frameStarts: frameStarts, checksum: checksum)
    }

    /// Header + the first `count` bytes of `stream`, flushed but with the zstd frame left open, as a
    /// recorder killed right after a flush leaves it.
    func cutFileBytes(streamPrefix count: Int) -> [UInt8] {
        TestTraceWriter.header() + TestTraceWriter.compress(Array(stream.prefix(count)),
            flushPoints: flushPoints.filter { $0 < count }, endFrame: false)
    }

    /// Compresses `data`, flushing after each flush point and ending a frame before each frame start
    /// and at the end.
    static func compress(_ data: [UInt8], flushPoints: [Int] = [], frameStarts: [Int] = [],
                         checksum: Bool = false, endFrame: Bool = true) -> [UInt8] {
        let cctx = ZSTD_createCCtx()!
        defer { ZSTD_freeCCtx(cctx) }
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, 3)
        ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, checksum ? 1 : 0)
        // One directive per offset: ending a frame there includes flushing it.
        var ends = Set(frameStarts.filter { $0 > 0 && $0 < data.count })
        ends.insert(data.count)
        var at: [Int: ZSTD_EndDirective] = [:]
        for f in flushPoints where f > 0 { at[f] = ZSTD_e_flush }
        for e in ends { at[e] = ZSTD_e_end }
        if !endFrame { at[data.count] = ZSTD_e_flush }
        let cuts = at.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
        var out: [UInt8] = []
        var scratch = [UInt8](repeating: 0, count: ZSTD_CStreamOutSize())
        var pos = 0
        data.withUnsafeBytes { src in
            for (cut, directive) in cuts where cut >= pos {
                var input = ZSTD_inBuffer(src: src.baseAddress! + pos, size: cut - pos, pos: 0)
                while true {
                    let remaining = scratch.withUnsafeMutableBytes { dst -> Int in
                        var output = ZSTD_outBuffer(dst: dst.baseAddress!, size: dst.count, pos: 0)
                        let r = ZSTD_compressStream2(cctx, &output, &input, directive)
                        precondition(ZSTD_isError(r) == 0)
                        out.append(contentsOf: dst.prefix(output.pos))
                        return r
                    }
                    if remaining == 0 && input.pos == input.size { break }
                }
                pos = cut
            }
        }
        return out
    }
}

/// Test-only: encodes one chunk's events with the format's delta state.
struct ChunkWriter {
    private(set) var bytes: [UInt8] = []
    private var ticks: UInt64
    private var addr: UInt64 = 0
    private var stack: UInt32 = 0

    init(base: UInt64) { ticks = base }

    private mutating func head(_ kind: EventKind, typed: Bool, at t: UInt64) {
        precondition(t >= ticks, "ticks go backwards in a chunk")
        bytes.append(kind.rawValue | (typed ? EventKind.typedFlag : 0))
        TestTraceWriter.varint(t - ticks, into: &bytes)
        ticks = t
    }
    /// FORMAT.md's address delta: (zigzag(delta >> 4) << 1) | unaligned, then the low bits.
    private mutating func addrDelta(_ a: UInt64, against base: UInt64) {
        let d = Int64(bitPattern: a &- base)
        let low = UInt8(truncatingIfNeeded: d & 15)
        TestTraceWriter.varint((Varint.zigzag(d >> 4) << 1) | (low != 0 ? 1 : 0), into: &bytes)
        if low != 0 { bytes.append(low) }
    }
    private mutating func stackDelta(_ s: UInt32) {
        TestTraceWriter.svarint(Int64(s) - Int64(stack), into: &bytes)
        stack = s
    }

    /// malloc, calloc, valloc, pvalloc, or (with `alignment`) the memalign family.
    mutating func alloc(_ kind: EventKind = .malloc, at t: UInt64, addr a: UInt64, size: UInt64, stack s: UInt32,
                        alignment: UInt64? = nil, type: UInt32? = nil) {
        head(kind, typed: type != nil, at: t)
        addrDelta(a, against: addr)
        addr = a
        TestTraceWriter.varint(size, into: &bytes)
        stackDelta(s)
        if let alignment { TestTraceWriter.varint(alignment, into: &bytes) }
        if let type { TestTraceWriter.varint(UInt64(type), into: &bytes) }
    }

    mutating func realloc(_ kind: EventKind = .realloc, at t: UInt64, old: UInt64, new: UInt64, size: UInt64,
                          stack s: UInt32, type: UInt32? = nil) {
        head(kind, typed: type != nil, at: t)
        addrDelta(old, against: addr)
        addrDelta(new, against: old)
        addr = new != 0 ? new : old
        TestTraceWriter.varint(size, into: &bytes)
        stackDelta(s)
        if let type { TestTraceWriter.varint(UInt64(type), into: &bytes) }
    }

    mutating func free(at t: UInt64, addr a: UInt64) {
        head(.free, typed: false, at: t)
        addrDelta(a, against: addr)
        addr = a
    }

    mutating func mark(at t: UInt64, _ label: String) {
        head(.mark, typed: false, at: t)
        TestTraceWriter.string(label, into: &bytes)
    }

    mutating func rss(at t: UInt64, bytes n: UInt64) {
        head(.rss, typed: false, at: t)
        TestTraceWriter.varint(n, into: &bytes)
    }

    mutating func threadExit(at t: UInt64) { head(.threadExit, typed: false, at: t) }

    /// Raw bytes (for damaged events).
    mutating func raw(_ b: [UInt8]) { bytes.append(contentsOf: b) }
}

/// Test-only: temporary trace files, removed with their directory at exit (unless
/// ALLOCTRACE_KEEP_TEST_TRACES is set).
enum TempTrace {
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "alloctrace-reader-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        if ProcessInfo.processInfo.environment["ALLOCTRACE_KEEP_TEST_TRACES"] == nil {
            atexit { try? FileManager.default.removeItem(atPath: TempTrace.directory) }
        }
        return dir
    }()

    static func write(_ bytes: [UInt8], name: String = "t.atrace") -> String {
        let path = directory + "/" + name
        _ = FileManager.default.createFile(atPath: path, contents: Data(bytes))
        return path
    }
}
