import Testing

/// Every Swift object is recorded with its type, including storage allocated inside libswiftCore.
@Suite struct SwiftTypeTests {
    @Test func objectsCarryTheirTypes() throws {
        let dir = try Toolbox.scratch("swift")
        let (r, trace) = try Toolbox.record(Toolbox.bin("samples"), ["objects", "1000", "10"], in: dir)
        #expect(r.status == 0)
        let t = try DecodedTrace(trace)
        #expect(t.reader.process?.swiftTypeCapture == .hook)
        var counts: [String: Int] = [:]
        for e in t.events where e.typeID != 0 { counts[t.typeName(e) ?? "?", default: 0] += 1 }
        #expect(counts["samples.Node"] == 1000)
        #expect(counts["samples.Leaf"] == 10)
        // allocated inside libswiftCore: only the runtime hook sees these
        #expect(counts["Swift._DictionaryStorage<Swift.Int, samples.Node>"] == 1)
        // replay: which Node blocks were freed
        var liveNode: [UInt64: Bool] = [:]
        var nodesFreed = 0
        for e in t.events {
            switch e.kind {
            case .free: if liveNode.removeValue(forKey: e.address) == true { nodesFreed += 1 }
            case .mark, .rss, .threadExit: break
            default: liveNode[e.address] = t.typeName(e) == "samples.Node"
            }
        }
        #expect(nodesFreed == 500)
    }
}
