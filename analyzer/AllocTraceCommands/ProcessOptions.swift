import ArgumentParser
import FoundationEssentials
import Glibc
import TraceAnalysis
import TraceReports

/// `--process PID|NAME`: which process of a recording an analysis command reads. Every command
/// takes it (through OutputOptions, or its own option group); the trace path each command opens
/// goes through `ProcessSelection.resolve`.
struct ProcessOptions: ParsableArguments {
    @Option(name: .customLong("process"),
            help: "In a recording of several processes: the process to read, by pid or program name (default: the main program).")
    var process: String?

    mutating func validate() throws { ProcessSelection.requested = process }
}

enum ProcessSelection {
    /// Set while the command line is parsed (one command runs per process).
    nonisolated(unsafe) static var requested: String?

    /// The trace to read for `path`: with `--process`, the chosen process's trace in the recording
    /// `path` belongs to; given a recording's index, its main trace; otherwise `path` itself.
    static func resolve(_ path: String) throws -> String {
        guard let spec = requested else {
            if Recording.isIndex(path) {
                guard let r = Recording.load(path), let main = r.main ?? r.processes.first else {
                    throw CommandError("\(path) is not a recording index this version reads")
                }
                return main.last.trace
            }
            return path
        }
        guard let (recording, _) = Recording.find(for: path) else {
            throw CommandError("\(path) is not part of a recording (no \(URL(fileURLWithPath: path).lastPathComponent)\(Recording.suffix) beside it, nor an index that lists it): --process needs one")
        }
        let process = try recording.select(spec)
        return recording.trace(of: process, spec: spec)
    }
}

/// The process tree `summary` prints for a recording of several processes.
enum ProcessTree {
    struct Figures { var peak: UInt64?; var notFreed: UInt64? }

    /// Lines for the tree, or nil when `path` belongs to no recording or the recording has one
    /// process. `current` is the trace being summarised (marked with `>`).
    static func text(for path: String, current: String) -> String? {
        guard let (recording, _) = Recording.find(for: path), recording.processes.count > 1 else { return nil }
        var figures: [String: Figures] = [:]
        for p in recording.processes {
            for image in p.images {
                guard let replay = try? HeapReplay(path: image.trace) else { figures[image.trace] = Figures(); continue }
                figures[image.trace] = Figures(peak: replay.figures.peakHeapBytes, notFreed: replay.figures.leakedBytes)
            }
        }
        let pids = Set(recording.processes.map(\.pid))
        var children: [Int: [Recording.Process]] = [:]
        var roots: [Recording.Process] = []
        for p in recording.processes {
            if p.pid != recording.mainPid && pids.contains(p.ppid) { children[p.ppid, default: []].append(p) } else { roots.append(p) }
        }
        let currentReal = URL(fileURLWithPath: current).resolvingSymlinksInPath().path
        var rows: [[String]] = []
        func visit(_ p: Recording.Process, depth: Int) {
            // peak: the highest of its images; not freed: what its last image left (exec discards the rest)
            let peaks = p.images.compactMap { figures[$0.trace]?.peak }
            let peak = peaks.max().map(Formatting.bytes) ?? "?"
            let notFreed = figures[p.last.trace]?.notFreed.map(Formatting.bytes) ?? "?"
            let status: String
            switch p.end {
            case "exit": status = "exit \(p.status ?? 0)"
            case "signal": status = "signal \(p.status ?? 0)"
            case "exec": status = "exec'd untraced"
            default: status = "cut short"
            }
            let here = p.images.contains { URL(fileURLWithPath: $0.trace).resolvingSymlinksInPath().path == currentReal }
            let mark = (p.pid == recording.mainPid ? "*" : " ") + (here ? ">" : " ")
            let args = p.last.argv.dropFirst().map(Record.shellQuoted).joined(separator: " ")
            rows.append([mark + String(p.pid), String(repeating: "  ", count: depth) + p.chain, peak, notFreed, status,
                         args.count > 60 ? String(args.prefix(57)) + "..." : args])
            for c in children[p.pid] ?? [] { visit(c, depth: depth + 1) }
        }
        for r in roots { visit(r, depth: 0) }
        let header = ["  pid", "program", "peak", "not freed", "end", "arguments"]
        let all = [header] + rows
        let widths = (0..<header.count).map { c in all.map { $0[c].count }.max() ?? 0 }
        var o = "processes:              \(recording.processes.count) traced (* main program, > this trace; --process PID or NAME picks one)\n"
        for row in all {
            var line = "  "
            for (c, cell) in row.enumerated() {
                let pad = String(repeating: " ", count: widths[c] - cell.count)
                line += (c == 2 || c == 3) ? pad + cell : cell + (c == row.count - 1 ? "" : pad)
                if c < row.count - 1 { line += "  " }
            }
            while line.hasSuffix(" ") { line.removeLast() }
            o += line + "\n"
        }
        return o + "\n"
    }

    /// "continued in TRACE" for a trace whose image exec'd into a traced one.
    static func continuation(of path: String) -> String? {
        guard let (recording, _) = Recording.find(for: path) else { return nil }
        let me = URL(fileURLWithPath: path).resolvingSymlinksInPath().path
        for p in recording.processes {
            for (i, image) in p.images.enumerated() where URL(fileURLWithPath: image.trace).resolvingSymlinksInPath().path == me {
                guard let exec = image.execPath else { return nil }
                if i + 1 < p.images.count {
                    let next = p.images[i + 1]
                    return "this image exec'd \(exec): continued as \(next.program) in \(next.trace)\n"
                }
                return "this image exec'd \(exec), which wrote no trace\n"
            }
        }
        return nil
    }
}
