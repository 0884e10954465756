import XCTest
import TraceFormat
import TraceReader

/// Every record and event kind decodes to exactly the values written.
final class RecordDecodingTests: XCTestCase {
    static let ipMain: UInt64 = 0x5555_0000_1234
    static let ipHelper: UInt64 = 0x5555_0000_2000
    static let ipLibc: UInt64 = 0x7F00_0001_0000

    /// A trace using every record kind and every event kind (stacks and types defined after use).
    static func everythingTrace() -> TestTraceWriter {
        var w = TestTraceWriter()
        w.process()
        w.module(id: 1, bias: 0x5555_0000_0000, ticks: 1_000_010, path: "/usr/bin/prog",
                 buildID: [0xDE, 0xAD, 0xBE, 0xEF], segments: [(0, 0x1000, 4), (0x1000, 0x2345, 5)])
        w.module(id: 2, bias: 0x7F00_0000_0000, ticks: 1_000_020, path: "/lib/libc.so.6", buildID: [],
                 segments: [(0, 0x28000, 5)])
        w.thread(index: 1, tid: 4242, ticks: 1_000_030, name: "main")
        w.thread(index: 2, tid: 4243, ticks: 1_000_040, name: "worker")
        w.chunk(thread: 1, base: 1_000_100) { c in
            c.alloc(.malloc, at: 1_000_100, addr: 0x1000_0000, size: 32, stack: 3, type: 7)
            c.alloc(.calloc, at: 1_000_105, addr: 0x0FFF_FF00, size: 48, stack: 2)
            c.alloc(.memalign, at: 1_000_110, addr: 0x2000_0000, size: 100, stack: 3, alignment: 64)
            c.alloc(.posixMemalign, at: 1_000_110, addr: 0x2000_1000, size: 4096, stack: 1, alignment: 4096)
            c.alloc(.alignedAlloc, at: 1_000_120, addr: 0x2000_3000, size: 48, stack: 1, alignment: 16)
            c.alloc(.valloc, at: 1_000_130, addr: 0x2001_0000, size: 10, stack: 1)
            c.alloc(.pvalloc, at: 1_000_140, addr: 0x2002_0000, size: 4096, stack: 1)
            c.realloc(.realloc, at: 1_000_150, old: 0x1000_0000, new: 0x3000_0000, size: 64, stack: 3)
            c.realloc(.realloc, at: 1_000_160, old: 0, new: 0x4000_0000, size: 8, stack: 0)
            c.realloc(.realloc, at: 1_000_170, old: 0x3000_0000, new: 0, size: 0, stack: 2)
            c.realloc(.reallocarray, at: 1_000_180, old: 0x4000_0000, new: 0x4000_0000, size: 80, stack: 3, type: 7)
            c.free(at: 1_000_200, addr: 0x2000_0000)
            c.mark(at: 1_000_210, "phase 1")
            c.threadExit(at: 1_000_220)
        }
        w.chunk(thread: 0, base: 1_000_200) { c in
            c.rss(at: 1_000_200, bytes: 123_456_789)
            c.mark(at: 1_000_205, "from outside")
        }
        w.stackNodes(first: 1, [(0, ipLibc), (1, ipHelper), (2, ipMain)])
        w.type(id: 7, metadata: 0x5555_0000_8000, kind: 0, name: "MyApp.Node")
        w.moduleUnload(id: 2, ticks: 1_000_300)
        w.thread(index: 2, tid: 4243, ticks: 1_000_310, name: "renamed")
        w.record(42, [1, 2, 3])
        w.record(RecordKind.heapSnapshot.rawValue, [99])
        w.sync(watermark: 1_000_250, monotonicNs: 1_000_250, wallNs: 1_700_000_000_000_250_000)
        w.exec(ticks: 1_000_400, path: "/bin/true")
        w.end(ticks: 1_000_500, monotonicNs: 1_000_500, reason: 0, status: 3, written: 16, dropped: 2)
        return w
    }

    /// The thread-1 events, then the thread-0 ones, as written (labels resolved separately).
    static let threadOneEvents: [TraceEvent] = [
        TraceEvent(kind: .malloc, thread: 1, ticks: 1_000_100, address: 0x1000_0000, size: 32, stack: 3, typeID: 7),
        TraceEvent(kind: .calloc, thread: 1, ticks: 1_000_105, address: 0x0FFF_FF00, size: 48, stack: 2),
        TraceEvent(kind: .memalign, thread: 1, ticks: 1_000_110, address: 0x2000_0000, size: 100, alignment: 64, stack: 3),
        TraceEvent(kind: .posixMemalign, thread: 1, ticks: 1_000_110, address: 0x2000_1000, size: 4096, alignment: 4096, stack: 1),
        TraceEvent(kind: .alignedAlloc, thread: 1, ticks: 1_000_120, address: 0x2000_3000, size: 48, alignment: 16, stack: 1),
        TraceEvent(kind: .valloc, thread: 1, ticks: 1_000_130, address: 0x2001_0000, size: 10, stack: 1),
        TraceEvent(kind: .pvalloc, thread: 1, ticks: 1_000_140, address: 0x2002_0000, size: 4096, stack: 1),
        TraceEvent(kind: .realloc, thread: 1, ticks: 1_000_150, address: 0x3000_0000, oldAddress: 0x1000_0000, size: 64, stack: 3),
        TraceEvent(kind: .realloc, thread: 1, ticks: 1_000_160, address: 0x4000_0000, oldAddress: 0, size: 8, stack: 0),
        TraceEvent(kind: .realloc, thread: 1, ticks: 1_000_170, address: 0, oldAddress: 0x3000_0000, size: 0, stack: 2),
        TraceEvent(kind: .reallocarray, thread: 1, ticks: 1_000_180, address: 0x4000_0000, oldAddress: 0x4000_0000, size: 80, stack: 3, typeID: 7),
        TraceEvent(kind: .free, thread: 1, ticks: 1_000_200, address: 0x2000_0000),
        TraceEvent(kind: .mark, thread: 1, ticks: 1_000_210),
        TraceEvent(kind: .threadExit, thread: 1, ticks: 1_000_220),
    ]
    static let threadZeroEvents: [TraceEvent] = [
        TraceEvent(kind: .rss, thread: 0, ticks: 1_000_200, size: 123_456_789),
        TraceEvent(kind: .mark, thread: 0, ticks: 1_000_205),
    ]

    /// `events` with mark label indices replaced by the labels' positions in `labels`.
    private func withLabels(_ events: [TraceEvent], _ labels: [String: String], reader: TraceReader) -> [TraceEvent] {
        events.map { e in
            var e = e
            if e.kind == .mark, let l = labels["\(e.thread)@\(e.ticks)"], let i = reader.labels.firstIndex(of: l) {
                e.labelIndex = UInt32(i)
            }
            return e
        }
    }

    private let labelOf = ["1@1000210": "phase 1", "0@1000205": "from outside"]

    func testProcessRecordOnOpen() throws {
        let reader = try open(Self.everythingTrace().fileBytes())
        XCTAssertEqual(reader.formatVersion, 1)
        XCTAssertEqual(reader.flags, 0)
        XCTAssertTrue(reader.headerComplete)
        let p = try XCTUnwrap(reader.process)
        XCTAssertEqual(p, TraceProcess(pid: 4242, ppid: 1, startWallNanoseconds: 1_700_000_000_000_000_000,
                                       startTicks: 1_000_000, startMonotonicNanoseconds: 1_000_000, clockRaw: 0,
                                       swiftTypeCaptureRaw: 1, unwindRaw: 2, maxStackDepth: 64,
                                       flushIntervalMilliseconds: 1000, executable: "/usr/bin/prog",
                                       arguments: ["prog", "-x"], recorderVersion: "0.1.0"))
        XCTAssertEqual(p.clock, .monotonicNanoseconds)
        XCTAssertEqual(p.swiftTypeCapture, .hook)
        XCTAssertEqual(p.unwind, .framePointers)
    }

    func testEveryRecordInFileOrder() throws {
        let reader = try open(Self.everythingTrace().fileBytes())
        var stackKnownAtChunk: [Bool] = []
        var r = Replayed()
        r.summary = try reader.replay(order: .file, records: { rec in
            r.records.append(rec)
            if case .chunk = rec { stackKnownAtChunk.append(reader.stacks.node(3) != nil) }
        }, events: { r.events.append(contentsOf: $0) })

        // Definitions that follow their first use are unknown when the chunk is read.
        XCTAssertEqual(stackKnownAtChunk, [false, false])

        XCTAssertEqual(r.records, [
            .process(reader.process!),
            .module(TraceModule(id: 1, loadBias: 0x5555_0000_0000, ticks: 1_000_010, path: "/usr/bin/prog",
                                buildID: [0xDE, 0xAD, 0xBE, 0xEF],
                                segments: [.init(vaddr: 0, memsz: 0x1000, flags: 4), .init(vaddr: 0x1000, memsz: 0x2345, flags: 5)])),
            .module(TraceModule(id: 2, loadBias: 0x7F00_0000_0000, ticks: 1_000_020, path: "/lib/libc.so.6",
                                buildID: [], segments: [.init(vaddr: 0, memsz: 0x28000, flags: 5)])),
            .thread(TraceThread(index: 1, tid: 4242, ticks: 1_000_030, name: "main")),
            .thread(TraceThread(index: 2, tid: 4243, ticks: 1_000_040, name: "worker")),
            .chunk(thread: 1, baseTicks: 1_000_100, eventBytes: Self.everythingTrace().chunkEventBytes(0)),
            .chunk(thread: 0, baseTicks: 1_000_200, eventBytes: Self.everythingTrace().chunkEventBytes(1)),
            .stackNodes(firstID: 1, count: 3),
            .type(TraceType(id: 7, metadataAddress: 0x5555_0000_8000, kind: 0, name: "MyApp.Node")),
            .moduleUnload(id: 2, ticks: 1_000_300),
            .thread(TraceThread(index: 2, tid: 4243, ticks: 1_000_310, name: "renamed")),
            .unknown(kind: 42, length: 3),
            .unknown(kind: 11, length: 1),
            .sync(TraceSync(watermark: 1_000_250, monotonicNanoseconds: 1_000_250, wallNanoseconds: 1_700_000_000_000_250_000)),
            .exec(TraceExec(ticks: 1_000_400, path: "/bin/true")),
            .end(TraceEnd(ticks: 1_000_500, monotonicNanoseconds: 1_000_500, reasonRaw: 0, status: 3,
                          eventsWritten: 16, eventsDropped: 2)),
        ])
        XCTAssertEqual(r.events, withLabels(Self.threadOneEvents + Self.threadZeroEvents, labelOf, reader: reader))
        XCTAssertEqual(reader.labels, ["phase 1", "from outside"])
        XCTAssertEqual(r.events.filter { $0.kind == .mark }.map { reader.label(of: $0) }, ["phase 1", "from outside"])
        XCTAssertEqual(r.events[14].residentBytes, 123_456_789)

        XCTAssertTrue(r.summary.complete)
        XCTAssertNil(r.summary.cutShortReason)
        XCTAssertEqual(r.summary.end?.reason, .exit)
        XCTAssertEqual(r.summary.end?.status, 3)
        XCTAssertEqual(r.summary.end?.eventsWritten, 16)
        XCTAssertEqual(r.summary.end?.eventsDropped, 2)
        XCTAssertEqual(r.summary.exec, TraceExec(ticks: 1_000_400, path: "/bin/true"))
        XCTAssertEqual(r.summary.records, 16)
        XCTAssertEqual(r.summary.chunks, 2)
        XCTAssertEqual(r.summary.syncs, 1)
        XCTAssertEqual(r.summary.events, 16)
        XCTAssertEqual(r.summary.decodedBytes, UInt64(Self.everythingTrace().stream.count))
    }

    func testTablesAfterReplay() throws {
        let reader = try open(Self.everythingTrace().fileBytes())
        try replay(reader)
        XCTAssertEqual(reader.stacks.count, 3)
        XCTAssertEqual(reader.stacks.node(1), StackNode(parent: 0, ip: Self.ipLibc))
        XCTAssertEqual(reader.stacks.node(3), StackNode(parent: 2, ip: Self.ipMain))
        XCTAssertNil(reader.stacks.node(0))
        XCTAssertNil(reader.stacks.node(4))
        XCTAssertEqual(reader.stacks.frames(3), [Self.ipMain, Self.ipHelper, Self.ipLibc])
        XCTAssertEqual(reader.stacks.frames(0), [])
        XCTAssertNil(reader.stacks.frames(99))
        XCTAssertEqual(reader.types[7], TraceType(id: 7, metadataAddress: 0x5555_0000_8000, kind: 0, name: "MyApp.Node"))
        XCTAssertNil(reader.types[1])
        XCTAssertEqual(reader.types.count, 1)
        XCTAssertEqual(reader.modules.map(\.path), ["/usr/bin/prog", "/lib/libc.so.6"])
        XCTAssertEqual(reader.modules.map(\.unloadTicks), [nil, 1_000_300])
        XCTAssertEqual(reader.modules[0].buildIDHex, "deadbeef")
        XCTAssertEqual(reader.modules[0].segments[1].permissions, "r-x")
        XCTAssertTrue(reader.modules[0].contains(0x5555_0000_1234))
        XCTAssertFalse(reader.modules[0].contains(0x5555_0000_3345))
        XCTAssertEqual(reader.threadList, [TraceThread(index: 1, tid: 4242, ticks: 1_000_030, name: "main"),
                                           TraceThread(index: 2, tid: 4243, ticks: 1_000_310, name: "renamed")])
        // A second replay rebuilds the same tables.
        try replay(reader)
        XCTAssertEqual(reader.stacks.count, 3)
        XCTAssertEqual(reader.labels.count, 2)
    }

    func testEveryEventInMergedOrder() throws {
        let reader = try open(Self.everythingTrace().fileBytes())
        let r = try replay(reader)
        // Thread 1's free at 1_000_200 goes before thread 0's rss at the same tick; the marks interleave.
        let t1 = Self.threadOneEvents, t0 = Self.threadZeroEvents
        let expected = Array(t1[0...11]) + [t0[0], t0[1], t1[12], t1[13]]
        XCTAssertEqual(r.events, withLabels(expected, labelOf, reader: reader))
        XCTAssertEqual(r.events.filter { $0.kind == .mark }.map { reader.label(of: $0) }, ["from outside", "phase 1"])
        // The sync releases every event (all are below 1_000_250) before it is delivered.
        XCTAssertEqual(r.log.count, 18)
        XCTAssertEqual(r.log[15], "T1 thread_exit 1000220")
        XCTAssertEqual(r.log[16], "sync 1000250")
        XCTAssertEqual(r.log[17], "end")
        XCTAssertTrue(r.summary.complete)
        XCTAssertEqual(r.summary.events, 16)
    }

    func testFarAwayStackIds() throws {
        var w = TestTraceWriter()
        w.process()
        w.stackNodes(first: 1, [(0, 0x10), (1, 0x20)])
        w.stackNodes(first: 3_000_000_000, [(2, 0x30), (3_000_000_000, 0x40)])
        w.stackNodes(first: 3, [(2, 0x50)])
        let reader = try open(w.fileBytes())
        try replay(reader)
        XCTAssertEqual(reader.stacks.count, 5)
        XCTAssertEqual(reader.stacks.frames(3_000_000_001), [0x40, 0x30, 0x20, 0x10])
        XCTAssertEqual(reader.stacks.frames(3), [0x50, 0x20, 0x10])
        XCTAssertEqual(reader.stacks.node(3_000_000_000), StackNode(parent: 2, ip: 0x30))
        XCTAssertNil(reader.stacks.node(4))
        XCTAssertNil(reader.stacks.node(2_999_999_999))
    }

    func testExecAsLastRecordIsComplete() throws {
        var w = TestTraceWriter()
        w.process()
        w.chunk(thread: 1, base: 1_000_100) { $0.alloc(at: 1_000_100, addr: 0x10, size: 1, stack: 0) }
        w.exec(ticks: 1_000_200, path: "/bin/sh")
        let reader = try open(w.fileBytes())
        let r = try replay(reader)
        XCTAssertTrue(r.summary.complete)
        XCTAssertNil(r.summary.end)
        XCTAssertEqual(r.summary.exec, TraceExec(ticks: 1_000_200, path: "/bin/sh"))
        XCTAssertEqual(r.events, [TraceEvent(kind: .malloc, thread: 1, ticks: 1_000_100, address: 0x10, size: 1)])
    }

    func testSeveralFramesAndForEachEvent() throws {
        var w = TestTraceWriter()
        w.process()
        w.chunk(thread: 1, base: 1_000_100) { $0.alloc(at: 1_000_100, addr: 0x10, size: 1, stack: 0) }
        w.newFrame()
        w.chunk(thread: 1, base: 1_000_200) { $0.free(at: 1_000_250, addr: 0x10) }
        w.newFrame()
        w.end(ticks: 1_000_300, monotonicNs: 1_000_300, reason: 2, status: -1, written: 2)
        let reader = try open(w.fileBytes(checksum: true))
        var seen: [TraceEvent] = []
        let s = try reader.forEachEvent { seen.append($0) }
        XCTAssertEqual(seen, [TraceEvent(kind: .malloc, thread: 1, ticks: 1_000_100, address: 0x10, size: 1),
                              TraceEvent(kind: .free, thread: 1, ticks: 1_000_250, address: 0x10)])
        XCTAssertTrue(s.complete)
        XCTAssertEqual(s.end?.reason, .explicitFinish)
        XCTAssertEqual(s.end?.status, -1)
    }

    func testTickClockPiecewiseLinear() throws {
        var w = TestTraceWriter()
        w.process(startTicks: 1000, startNs: 5000, clock: 1)
        w.chunk(thread: 1, base: 2000) { $0.alloc(at: 2000, addr: 0x10, size: 1, stack: 0) }
        w.sync(watermark: 3000, monotonicNs: 6000)
        w.end(ticks: 5000, monotonicNs: 8000, written: 1)
        let reader = try open(w.fileBytes())
        // Before any sync only the start pair is known: 1 ns per tick.
        XCTAssertEqual(reader.clock.nanoseconds(2000), 6000)
        var atRelease: [Int64] = []
        try reader.forEachEvent { atRelease.append(reader.clock.nanosecondsSinceStart($0.ticks)) }
        XCTAssertEqual(atRelease, [500])  // released at the sync, interpolated between start and sync
        let c = reader.clock
        XCTAssertEqual(c.pairs.map(\.ticks), [1000, 3000, 5000])
        XCTAssertEqual(c.nanoseconds(1000), 5000)
        XCTAssertEqual(c.nanoseconds(2000), 5500)
        XCTAssertEqual(c.nanoseconds(3000), 6000)
        XCTAssertEqual(c.nanoseconds(4000), 7000)
        XCTAssertEqual(c.nanoseconds(0), 4500)    // before start: the first segment's rate
        XCTAssertEqual(c.nanoseconds(7000), 10000) // after the end: the last segment's rate
        XCTAssertEqual(c.nanosecondsSinceStart(3000), 1000)

        // Clock 0: ticks are nanoseconds.
        var z = TestTraceWriter()
        z.process(startTicks: 777, startNs: 777, clock: 0)
        z.sync(watermark: 2000, monotonicNs: 9999)
        let zr = try open(z.fileBytes(), name: "z.atrace")
        try zr.replay(events: { _ in })
        XCTAssertEqual(zr.clock.nanoseconds(12345), 12345)
        XCTAssertEqual(zr.clock.nanosecondsSinceStart(1777), 1000)
    }
}

extension TestTraceWriter {
    /// The events bytes of the n-th chunk record (payload minus thread index and base ticks).
    func chunkEventBytes(_ n: Int) -> Int {
        var seen = 0
        for (i, start) in recordStarts.enumerated() where stream[start] == RecordKind.chunk.rawValue {
            if seen == n {
                var p = start + 1
                var len = 0, shift = 0
                while true { let b = stream[p]; p += 1; len |= Int(b & 0x7F) << shift; shift += 7; if b < 0x80 { break } }
                var q = p, fields = 0
                while fields < 2 { if stream[q] < 0x80 { fields += 1 }; q += 1 }
                _ = i
                return len - (q - p)
            }
            seen += 1
        }
        return -1
    }
}
