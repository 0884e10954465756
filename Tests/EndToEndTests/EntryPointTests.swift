import Testing
import TraceFormat

/// `samples/c/entrypoints` calls every interposed entry point a known number of times.
@Suite struct EntryPointTests {
    @Test func everyEntryPointIsRecordedExactly() throws {
        let dir = try Toolbox.scratch("entrypoints")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-entrypoints"), in: dir)
        #expect(r.status == 0)
        let t = try DecodedTrace(trace)
        #expect(t.summary.complete)
        let m = t.between("start", "end")
        #expect(t.sizes(.malloc, in: m) == [16, 32, 48, 64, 80, 96, 112, 128, 144, 160])
        #expect(t.sizes(.calloc, in: m) == [16, 48, 128])
        let reallocs = m.filter { $0.kind == .realloc }
        #expect(reallocs.map(\.size) == [100, 200, 400, 0])
        #expect(reallocs[0].oldAddress == 0)
        #expect(reallocs[1].oldAddress == reallocs[0].address)
        #expect(reallocs[2].oldAddress == reallocs[1].address)
        #expect(reallocs[3].address == 0 && reallocs[3].oldAddress != 0)
        let arrays = m.filter { $0.kind == .reallocarray }
        #expect(arrays.map(\.size) == [120, 240])
        #expect(arrays[1].oldAddress == arrays[0].address)
        let posix = m.filter { $0.kind == .posixMemalign }
        #expect(posix.map(\.size) == [64, 256] && posix.allSatisfy { $0.alignment == 64 && $0.address % 64 == 0 })
        let aligned = m.filter { $0.kind == .alignedAlloc }
        #expect(aligned.map(\.size) == [128, 384] && aligned.allSatisfy { $0.alignment == 128 && $0.address % 128 == 0 })
        let mema = m.filter { $0.kind == .memalign }
        #expect(mema.map(\.size) == [96, 200] && mema.allSatisfy { $0.alignment == 32 })
        #expect(t.sizes(.valloc, in: m) == [1000])
        #expect(t.sizes(.pvalloc, in: m) == [4096])
        #expect(t.count(.free, in: m) == 15)                  // free(NULL) is not recorded
        let allocationKinds: Set<EventKind> = [.malloc, .calloc, .realloc, .reallocarray, .posixMemalign,
                                               .alignedAlloc, .memalign, .valloc, .pvalloc]
        #expect(m.filter { allocationKinds.contains($0.kind) }.count == 27)
        // every event of the measured part has a stack that starts in the sample
        #expect(m.filter { allocationKinds.contains($0.kind) && $0.kind != .realloc }.allSatisfy { $0.stack != 0 })
    }

    @Test func dumpPrintsEachCall() throws {
        let dir = try Toolbox.scratch("dump")
        let (_, trace) = try Toolbox.record(Toolbox.bin("sample-entrypoints"), in: dir)
        let dump = try Toolbox.run(Toolbox.alloctrace, ["dump", trace])
        #expect(dump.status == 0)
        let lines = dump.out.split(separator: "\n").map(String.init)
        func calls(_ name: String) -> Int { lines.filter { $0.hasPrefix("t=") && $0.contains(" \(name) ") }.count }
        // the whole process: exactly the measured calls (the Swift runtime's registration of the
        // recorder's own image is the recorder's, not recorded)
        #expect(calls("malloc") == 10)
        #expect(calls("calloc") == 3)
        #expect(calls("realloc") == 4)
        #expect(calls("reallocarray") == 2)
        #expect(calls("posix_memalign") == 2)
        #expect(calls("aligned_alloc") == 2)
        #expect(calls("memalign") == 2)
        #expect(calls("valloc") == 1)
        #expect(calls("pvalloc") == 1)
        #expect(calls("free") == 15)
        #expect(lines.contains { $0.contains(" posix_memalign ") && $0.contains("size=256") && $0.contains("align=64") })
        #expect(lines.last == "complete: yes")
    }
}
