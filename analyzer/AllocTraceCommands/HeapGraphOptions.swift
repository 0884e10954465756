import ArgumentParser
import FoundationEssentials
import Glibc
import TraceAnalysis
import TraceReader
import TraceReports

/// Options of the heap-graph commands (chains, leaks, cycles, retained).
struct HeapGraphOptions: ParsableArguments {
    @Option(help: "The snapshot: a mark's label, #N for the N-th mark, or end (the exit's, else the last).")
    var at: Moment = .end

    @OptionGroup var live: TraceSource

    @OptionGroup var output: OutputOptions
    @OptionGroup var stacks: StackOptions

    @OptionGroup var names: NameOptions

    /// Qualified Python names (`NameOptions.qualified`).
    var qualified: Bool { names.qualified(json: output.json) }

    /// The trace and the snapshot to read: with --pid, the mark made now (unless --at names another).
    func target() throws -> (path: String, at: Moment) {
        let (path, mark) = try live.target()
        if let mark, at == .end { return (path, .markIndex(mark)) }
        return (path, at)
    }
}

extension Analysis {
    /// Replays a trace up to the heap-graph snapshot at `moment` and names its graph.
    /// The heap graph at `moment` when the trace has a snapshot there; nil otherwise (no message).
    /// `notes`: say what the plain replay would (a moment's name, a trace cut short or still written)
    /// when this replay is the only one.
    static func heapGraphIfPresent(_ path: String, at moment: Moment, stacks: StackOptions = StackOptions(),
                                   fullNames: Bool = false, notes: Bool = false) -> HeapGraphAnalysis? {
        switch moment {
        case .start, .seconds: return nil
        default: break
        }
        guard let reader = try? open(path) else { return nil }
        let replay = HeapGraphReplay(reader: reader, at: moment)
        // a damaged trace is no graph here: the caller's plain replay then says what is wrong
        guard (try? replay.run()) != nil, replay.graph != nil else { return nil }
        if notes {
            noteMoments([moment], labels: replay.marks.map(\.label))
            noteCutShort(replay, reader, path)
        }
        return HeapGraphAnalysis(replay: replay, resolver: stacks.resolver(reader), fullNames: fullNames)
    }

    /// The heap graph at the end (nil when the trace has none) and the number of marks, from one
    /// replay; nil when the trace cannot be read through (the caller's plain replay says why).
    static func endGraphAndMarks(_ path: String, stacks: StackOptions) -> (graph: HeapGraphAnalysis?, marks: Int)? {
        guard let reader = try? open(path) else { return nil }
        let replay = HeapGraphReplay(reader: reader, at: .end)
        do {
            try replay.run()
        } catch is HeapGraphError {
            return (nil, replay.marks.count)   // read through, no snapshot: the marks are all counted
        } catch {
            return nil
        }
        let graph = replay.graph.map { _ in HeapGraphAnalysis(replay: replay, resolver: stacks.resolver(reader)) }
        return (graph, replay.marks.count)
    }

    static func heapGraph(_ path: String, at moment: Moment, stacks: StackOptions = StackOptions(),
                          fullNames: Bool = false) throws -> HeapGraphAnalysis {
        let reader = try open(path)
        let replay = HeapGraphReplay(reader: reader, at: moment)
        do {
            try replay.run()
        } catch let e as TraceError {
            throw CommandError(e.description)
        } catch let e as HeapGraphError {
            throw CommandError(e.description)
        }
        noteMoments([moment], labels: replay.marks.map(\.label))
        noteCutShort(replay, reader, path)
        return HeapGraphAnalysis(replay: replay, resolver: stacks.resolver(reader), fullNames: fullNames)
    }

    /// One line when the trace ends early: still being written (the replay may have stopped at
    /// the snapshot, before the end of what is there), or cut short.
    private static func noteCutShort(_ replay: HeapGraphReplay, _ reader: TraceReader, _ path: String) {
        let summary = replay.replaySummary
        if summary?.complete == true { return }
        if let pid = reader.process?.pid, LiveTrace.isWriting(Int32(truncatingIfNeeded: pid), path) {
            let upTo = replay.chosen.map { " (the snapshot at \(Formatting.seconds(Double(reader.clock.nanosecondsSinceStart($0.ticks)) / 1e9)))" } ?? ""
            printNote("note: \(path) is still being written by pid \(pid); figures up to its last snapshot\(upTo)")
        } else if let summary {
            printNote("warning: \(path): the trace was cut short (\(summary.cutShortReason ?? "no end record")); figures cover what it holds")
        }
    }
}
