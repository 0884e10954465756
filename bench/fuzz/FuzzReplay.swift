// libFuzzer target for the reader and the replays (bench/fuzz/run builds and runs it).
//
// The input is a trace's *uncompressed* record stream (what follows the 16-byte header once zstd
// is undone): mutations then hit records and events, not compressed bytes. Each input is
// compressed, given the header, written to a file and replayed by every pass the analyzer makes:
// the heap replay (sites, marks, snapshots at every mark and the end), the timeline, and the
// heap-graph replay, and with ALLOCTRACE_FUZZ_REPORTS=1 every report and export the commands
// render from them, with symbolization. A trace may be rejected with a thrown error; any trap,
// hang or runaway allocation is a finding.
import CZstd
import Foundation
import TraceAnalysis
import TraceReader
import TraceReports

/// ALLOCTRACE_FUZZ_REPORTS=1: also every report (a few executions a second instead of hundreds).
private let withReports = ProcessInfo.processInfo.environment["ALLOCTRACE_FUZZ_REPORTS"] == "1"

private let tracePath: String = {
    let dir = ProcessInfo.processInfo.environment["ALLOCTRACE_FUZZ_DIR"] ?? "/dev/shm"
    return "\(dir)/alloctrace-fuzz-\(getpid()).atrace"
}()

private let header: [UInt8] = Array("ALCTRACE".utf8) + [1, 0, 0, 0, 0, 0, 0, 0]

private func compressed(_ data: UnsafeRawBufferPointer) -> [UInt8] {
    let bound = ZSTD_compressBound(data.count)
    var out = [UInt8](repeating: 0, count: header.count + bound)
    for i in 0..<header.count { out[i] = header[i] }
    let n = out.withUnsafeMutableBytes { dst in
        ZSTD_compress(dst.baseAddress! + header.count, bound, data.baseAddress, data.count, 1)
    }
    guard ZSTD_isError(n) == 0 else { return header }
    out.removeLast(bound - n)
    return out
}

private func replayEverything(_ path: String) {
    // the heap replay, as summary/top/marks do, then as report/types/growth do
    guard let first = try? HeapReplay(path: path) else { return }
    let moments = first.marks.prefix(64).map { Moment.markIndex($0.index) } + [.end, .start, .seconds(0.001)]
    let replay = try? HeapReplay(path: path, request: ReplayRequest(sites: true, moments: moments,
                                                                      survivorsFrom: .start, survivorsUntil: .end))
    var timeline: Timeline?
    if let reader = try? TraceReader(path: path) {
        let t = TimelineReplay(reader: reader, groups: true)
        if (try? t.run()) != nil { timeline = t.timeline }
    }
    var graphs: [(Moment, HeapGraphReplay)] = []
    for moment in [Moment.end] + first.marks.prefix(4).map({ Moment.markIndex($0.index) }) {
        guard let reader = try? TraceReader(path: path) else { continue }
        let graph = HeapGraphReplay(reader: reader, at: moment)
        guard (try? graph.run()) != nil, graph.graph != nil else { continue }
        graphs.append((moment, graph))
    }
    guard withReports, let replay else { return }
    renderEverything(replay, timeline, graphs, moments)
}

/// What the commands render: text and JSON tables, SVG, HTML, pprof, massif, collapsed stacks.
private func renderEverything(_ replay: HeapReplay, _ timeline: Timeline?, _ graphs: [(Moment, HeapGraphReplay)],
                              _ moments: [Moment]) {
    let resolver = StackResolver(reader: replay.reader)
    func json<T: Encodable>(_ v: T) { _ = try? JSONOutput.render(v) }
    let summary = SummaryReport(replay: replay, resolver: resolver, topSites: 5)
    _ = summary.text(); json(summary)
    for metric in [SiteMetric.peak, .leaked, .bytes, .allocations, .temporary] {
        for byFunction in [false, true] {
            let top = TopReport(replay: replay, resolver: resolver, by: metric, groupByFunction: byFunction, limit: 20)
            _ = top.text(); json(top)
        }
        _ = FlameGraphSVG.render(replay: replay, resolver: resolver, by: metric, title: "f")
        _ = CollapsedExport.render(replay: replay, resolver: resolver, by: metric)
    }
    let marks = MarksReport(replay: replay)
    _ = marks.text(); json(marks)
    for m in moments where replay.snapshots[m] != nil {
        let types = TypesReport(replay: replay, resolver: resolver, at: m, limit: 20)
        _ = types.text(); json(types)
    }
    let pairs = zip(moments, moments.dropFirst()).filter { replay.snapshots[$0.0] != nil && replay.snapshots[$0.1] != nil }
    for (a, b) in pairs.prefix(8) {
        for sites in [false, true] {
            let g = GrowthReport(replay: replay, resolver: resolver, from: a, to: b, sites: sites, all: true, limit: 20)
            _ = g.text(); json(g)
        }
        let d = DiffReport(.init(replay: replay, resolver: resolver, moment: a, title: "a"),
                           .init(replay: replay, resolver: resolver, moment: b, title: "b"), all: false, limit: 20)
        _ = d.text(); json(d)
    }
    _ = try? PprofExport.render(replay: replay, resolver: resolver)
    if let timeline {
        _ = MassifExport.render(replay: replay, timeline: timeline, resolver: resolver)
        _ = TimelineSVG.render(timeline, seconds: { replay.seconds($0) },
                               name: { TypeNames.name($0, reader: replay.reader, resolver: resolver) }, types: 5, title: "t")
        let graph = graphs.first { $0.0 == .end }.map { HeapGraphAnalysis(replay: $0.1, resolver: resolver) }
        _ = ReportHTML.render(.init(replay: replay, timeline: timeline, resolver: resolver, heapGraph: graph))
    }
    for (moment, g) in graphs {
        let a = HeapGraphAnalysis(replay: g, resolver: StackResolver(reader: g.reader))
        let leaks = LeaksReport(analysis: a, limit: 20); _ = leaks.text(); json(leaks)
        let cycles = CyclesReport(analysis: a, limit: 20); _ = cycles.text(); json(cycles)
        _ = GraphDOT.cycles(cycles, analysis: a)
        let retained = RetainedReport(analysis: a, limit: 20); _ = retained.text(); json(retained)
        let types = TypesReport(graph: a, at: moment, limit: 20); _ = types.text(); json(types)
        for type in ["App.Node", "Node", "int"] {
            let chains = ChainsReport(analysis: a, type: type, site: nil, address: nil, limit: 5); _ = chains.text(); json(chains)
            _ = GraphDOT.chains(chains, analysis: a)
        }
    }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = compressed(UnsafeRawBufferPointer(start: data, count: size))
    let fd = open(tracePath, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    guard fd >= 0 else { fatalError("cannot write \(tracePath)") }
    _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    close(fd)
    replayEverything(tracePath)
    return 0
}
