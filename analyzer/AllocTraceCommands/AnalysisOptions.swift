import ArgumentParser
import FoundationEssentials
import Glibc
import TraceAnalysis
import TraceReader
import TraceReports

/// Options every analysis command takes.
struct OutputOptions: ParsableArguments {
    /// Print JSON (stable keys, docs/JSON.md) instead of a table.
    @Flag(help: "Print JSON instead of a table (keys in docs/JSON.md).")
    var json = false

    /// `--process PID|NAME` for a recording of several processes.
    @OptionGroup var process: ProcessOptions
}

/// Opens a trace and replays it, turning every failure into one clear line.
enum Analysis {
    /// The trace `path` names (a recording's index: its `--process` choice), open; any failure
    /// as one line.
    static func open(_ path: String) throws -> TraceReader {
        let reader: TraceReader
        do { reader = try TraceReader(path: try ProcessSelection.resolve(path)) } catch let e as CommandError { throw e } catch { throw CommandError("\(error)") }
        SampledTraces.note(reader)   // every view of it then says its figures are estimates
        return reader
    }

    /// `innermostFramesOnly`: the report names sites by their innermost user frame only (the
    /// debug information loaded meanwhile is then that of the modules holding innermost frames).
    /// `untilMark`: stop at that mark (from 1), as `--pid` does.
    static func replay(_ path: String, _ request: ReplayRequest, innermostFramesOnly: Bool = false,
                       untilMark: Int? = nil) throws -> HeapReplay {
        let reader = try open(path)
        var request = request
        request.untilMark = untilMark
        let replay = HeapReplay(reader: reader, request: request)
        // Reports that name sites load the trace's debug information meanwhile, on another thread
        // (done with by the time the replay is: the process may exit right after).
        if request.sites || !request.moments.isEmpty {
            replay.definitionsAvailable = { SymbolizerWarmup.start(for: $0, leafModulesOnly: innermostFramesOnly) }
        }
        defer { SymbolizerWarmup.waitForAll() }
        let terminal = isatty(2) != 0
        if terminal {
            replay.progress = { n in
                StandardStreams.error("\ralloctrace: \(Formatting.count(n)) events...")
            }
        }
        defer { if terminal { StandardStreams.error("\r\u{1B}[K") } }
        do {
            try replay.run()
        } catch let e as TraceError {
            throw CommandError(e.description)
        } catch let e as UnknownMoment {
            throw CommandError(e.description)
        }
        noteMoments(request.moments + [request.survivorsFrom, request.survivorsUntil].compactMap { $0 },
                    labels: replay.marks.map(\.label))
        if replay.stoppedAtMark || !replay.replaySummary.complete {
            let upTo = replay.seconds(replay.figures.lastTicks)
            let mark = untilMark.map { n in " (mark #\(n) \"\(replay.marks.count >= n ? replay.marks[n - 1].label : "")\")" } ?? ""
            if let pid = reader.process?.pid, LiveTrace.isWriting(Int32(truncatingIfNeeded: pid), path) {
                printNote("note: \(path) is still being written by pid \(pid); figures up to \(Formatting.seconds(upTo))\(mark)")
            } else if replay.stoppedAtMark {
                printNote("note: \(path): figures up to \(Formatting.seconds(upTo))\(mark)")
            } else {
                printNote("warning: \(path): the trace was cut short (\(replay.replaySummary.cutShortReason ?? "no end record")); figures cover what it holds")
            }
        }
        return replay
    }

    /// "still being written by pid N, figures up to T" when the trace's process still writes it.
    static func stillBeingWritten(_ replay: HeapReplay) -> String? {
        guard replay.stoppedAtMark || !replay.replaySummary.complete, let pid = replay.reader.process?.pid,
              LiveTrace.isWriting(Int32(truncatingIfNeeded: pid), replay.reader.path) else { return nil }
        return "still being written by pid \(pid), figures up to \(Formatting.seconds(replay.seconds(replay.figures.lastTicks)))"
    }

    /// Says where a moment's name bites: `start` and `end` always name the trace's start and end,
    /// not marks with those labels; a label that several marks carry names the first of them.
    static func noteMoments(_ moments: [Moment], labels: [String]) {
        var said = Set<String>()
        for m in moments {
            let text: String?
            switch m {
            case .start, .end:
                let word = m == .start ? "start" : "end"
                let hits = labels.indices.filter { labels[$0] == word }.map { "#\($0 + 1)" }
                text = hits.isEmpty ? nil
                    : "warning: \"\(word)\" is the \(word) of the trace, not the mark labelled \"\(word)\" (\(hits.joined(separator: ", "))); name that mark as \(hits[0])"
            case .mark(let label):
                let hits = labels.indices.filter { labels[$0] == label }.map { "#\($0 + 1)" }
                text = hits.count < 2 ? nil
                    : "warning: \(hits.count) marks are labelled \"\(label)\" (\(hits.joined(separator: ", "))); using the first, \(hits[0]); name another as #N"
            default:
                text = nil
            }
            if let text, said.insert(text).inserted { printNote(text) }
        }
    }

    /// Replays a trace into a timeline (a pass of its own).
    static func timeline(_ path: String, groups: Bool) throws -> (Timeline, TraceReader) {
        let reader = try open(path)
        let replay = TimelineReplay(reader: reader, groups: groups)
        do { try replay.run() } catch let e as TraceError { throw CommandError(e.description) }
        return (replay.timeline, reader)
    }

    /// Prints the report as JSON or text.
    static func emit<R: Encodable>(_ report: R, json: Bool, text: (R) -> String) throws {
        let sampled = SampledTraces.entries
        if json {
            let out = sampled.isEmpty ? try JSONOutput.render(report) : try JSONOutput.render(WithSampling(report: report, sampling: sampled))
            print(out, terminator: "")
        } else {
            print(SampledTraces.textLine + text(report), terminator: "")
        }
    }
}

/// How stacks are shown, for every command that shows stacks or names sites.
struct StackOptions: ParsableArguments {
    /// Python programs: the interpreter's C frames too, not only the Python frames.
    @Flag(help: "For Python programs, show the interpreter's native frames beside the Python frames (default: Python frames only).")
    var native = false

    /// A resolver that names the stacks of `reader` this way.
    func resolver(_ reader: TraceReader) -> StackResolver { StackResolver(reader: reader, native: native) }
}
