import ArgumentParser
import Foundation
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
    /// `innermostFramesOnly`: the report names sites by their innermost user frame only (the
    /// debug information loaded meanwhile is then that of the modules holding innermost frames).
    static func replay(_ path: String, _ request: ReplayRequest, innermostFramesOnly: Bool = false) throws -> HeapReplay {
        let reader: TraceReader
        do { reader = try TraceReader(path: try ProcessSelection.resolve(path)) } catch let e as CommandError { throw e } catch { throw CommandError("\(error)") }
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
                FileHandle.standardError.write(Data("\ralloctrace: \(Formatting.count(n)) events...".utf8))
            }
        }
        defer { if terminal { FileHandle.standardError.write(Data("\r\u{1B}[K".utf8)) } }
        do {
            try replay.run()
        } catch let e as TraceError {
            throw CommandError(e.description)
        } catch let e as UnknownMoment {
            throw CommandError(e.description)
        }
        if !replay.replaySummary.complete {
            printNote("warning: \(path): the trace was cut short (\(replay.replaySummary.cutShortReason ?? "no end record")); figures cover what it holds")
        }
        return replay
    }

    /// Replays a trace into a timeline (a pass of its own).
    static func timeline(_ path: String, groups: Bool) throws -> (Timeline, TraceReader) {
        let reader: TraceReader
        do { reader = try TraceReader(path: try ProcessSelection.resolve(path)) } catch let e as CommandError { throw e } catch { throw CommandError("\(error)") }
        let replay = TimelineReplay(reader: reader, groups: groups)
        do { try replay.run() } catch let e as TraceError { throw CommandError(e.description) }
        return (replay.timeline, reader)
    }

    /// Prints the report as JSON or text.
    static func emit<R: Encodable>(_ report: R, json: Bool, text: (R) -> String) throws {
        if json { print(try JSONOutput.render(report), terminator: "") } else { print(text(report), terminator: "") }
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
