import FoundationEssentials
import Glibc
import TraceReader

/// One `record` run: every process the recorder traced, built by the launcher from the journal the
/// recorders appended to (docs/FORMAT.md, "Recordings") and the traces' `process` records, and
/// written next to the main trace as `MAIN.index` (JSON).
struct Recording: Codable, Equatable {
    /// One process image: what one trace file describes.
    struct Image: Codable, Equatable {
        var trace: String
        /// The executable (/proc/self/exe at start), from the trace's `process` record.
        var executable: String
        var argv: [String]
        var startWallNs: UInt64
        /// The path this image passed to execve, when it exec'd (the next image, if traced, follows).
        var execPath: String?

        var program: String { URL(fileURLWithPath: executable).lastPathComponent }

        enum CodingKeys: String, CodingKey {
            case trace, executable, argv
            case startWallNs = "start_wall_ns"
            case execPath = "exec_path"
        }
    }

    /// One process: a pid and the chain of images it exec'd, in order.
    struct Process: Codable, Equatable {
        var pid: Int
        var ppid: Int
        var images: [Image]
        /// "exit", "signal", "exec" (it exec'd a program that wrote no trace), or "unknown" (killed,
        /// or still running when the launcher's program ended).
        var end: String
        /// Exit status or signal number; nil when unknown.
        var status: Int?
        var endWallNs: UInt64?

        /// The last image: the program this process ended as.
        var last: Image { images[images.count - 1] }
        var program: String { last.program }
        /// `env -> bash -> python3.11`
        var chain: String { images.map(\.program).joined(separator: " -> ") }

        enum CodingKeys: String, CodingKey {
            case pid, ppid, images, end, status
            case endWallNs = "end_wall_ns"
        }
    }

    var format = "alloctrace-recording"
    var version = 1
    /// The command `record` ran, as typed.
    var command: [String]
    /// The pid of the process the launcher started: its last image is the main program.
    var mainPid: Int
    /// Processes in the order their first trace was opened.
    var processes: [Process]

    enum CodingKeys: String, CodingKey {
        case format, version, command, processes
        case mainPid = "main_pid"
    }

    private var mainIndex: Int? { processes.firstIndex { $0.pid == mainPid } }
    var main: Process? { mainIndex.map { processes[$0] } }
    var others: [Process] { processes.enumerated().filter { $0.offset != mainIndex }.map(\.element) }

    // MARK: building from the journal

    /// One journal line (journal.c).
    enum JournalLine: Equatable {
        case trace(pid: Int, wallNs: UInt64, ppid: Int, path: String, executable: String, argv: [String])
        case exec(pid: Int, wallNs: UInt64, path: String)
        case end(pid: Int, wallNs: UInt64, reason: Int, status: Int)

        init?(_ line: Substring) {
            let f = line.split(separator: " ", maxSplits: 4, omittingEmptySubsequences: false)
            guard f.count >= 3, let pid = Int(f[1]), let wall = UInt64(f[2]) else { return nil }
            switch f[0] {
            case "T":
                let fields = line.split(separator: "\t", omittingEmptySubsequences: false).map(JournalLine.unescape)
                let head = line.prefix { $0 != "\t" }.split(separator: " ")
                guard head.count == 4, fields.count >= 3, let ppid = Int(head[3]) else { return nil }
                self = .trace(pid: pid, wallNs: wall, ppid: ppid, path: fields[1], executable: fields[2], argv: Array(fields.dropFirst(3)))
            case "X":
                let rest = line.split(separator: " ", maxSplits: 3, omittingEmptySubsequences: false)
                self = .exec(pid: pid, wallNs: wall, path: rest.count == 4 ? String(rest[3]) : "")
            case "E":
                guard f.count == 5, let reason = Int(f[3]), let status = Int(f[4]) else { return nil }
                self = .end(pid: pid, wallNs: wall, reason: reason, status: status)
            default: return nil
            }
        }

        static func unescape(_ s: Substring) -> String {
            guard s.contains("\\") else { return String(s) }
            var out = ""
            var escaped = false
            for c in s {
                if escaped { out.append(c == "t" ? "\t" : c == "n" ? "\n" : c); escaped = false }
                else if c == "\\" { escaped = true }
                else { out.append(c) }
            }
            return out
        }
    }

    /// Builds the recording from the journal's text. `mainStatus` is the launcher's wait status for
    /// the process it started (exit code, or 128+signal), used when that process wrote no end line.
    init(command: [String], mainPid: Int, journal: String, mainStatus: Int32?) {
        self.command = command
        self.mainPid = mainPid
        var processes: [Process] = []
        var current: [Int: Int] = [:]   // pid -> index in processes (pids can be reused)
        for raw in journal.split(separator: "\n") {
            guard let line = JournalLine(raw) else { continue }
            switch line {
            case let .trace(pid, wall, ppid, path, executable, argv):
                let image = Recording.image(trace: path, wallNs: wall, executable: executable, argv: argv)
                if let i = current[pid], processes[i].end == "exec" {
                    processes[i].images.append(image)
                    processes[i].end = "unknown"
                    processes[i].status = nil
                    processes[i].endWallNs = nil
                } else {
                    current[pid] = processes.count
                    processes.append(Process(pid: pid, ppid: ppid, images: [image], end: "unknown"))
                }
            case let .exec(pid, wall, path):
                guard let i = current[pid] else { continue }
                processes[i].images[processes[i].images.count - 1].execPath = path
                processes[i].end = "exec"
                processes[i].endWallNs = wall
            case let .end(pid, wall, reason, status):
                guard let i = current[pid] else { continue }
                processes[i].images[processes[i].images.count - 1].execPath = nil   // that exec failed
                processes[i].end = reason == 1 ? "signal" : "exit"
                processes[i].status = status
                processes[i].endWallNs = wall
            }
        }
        // The launcher knows how its own child ended, whatever the trace says.
        if let mainStatus, let i = processes.firstIndex(where: { $0.pid == mainPid }), processes[i].end != "exit" || processes[i].status == nil {
            if processes[i].end == "unknown" || processes[i].end == "exec" {
                if mainStatus > 128 { processes[i].end = "signal"; processes[i].status = Int(mainStatus - 128) }
                else { processes[i].end = "exit"; processes[i].status = Int(mainStatus) }
            }
        }
        self.processes = processes
    }

    /// The trace's `process` record has the image's facts; a trace cut short before it (SIGKILL
    /// in the first milliseconds) leaves the journal's.
    private static func image(trace: String, wallNs: UInt64, executable: String, argv: [String]) -> Image {
        let trace = canonical(trace)
        if let reader = try? TraceReader(path: trace), let p = reader.process {
            return Image(trace: trace, executable: p.executable, argv: p.arguments, startWallNs: p.startWallNanoseconds)
        }
        return Image(trace: trace, executable: executable, argv: argv, startWallNs: wallNs)
    }

    /// The path with its folder resolved (`/tmp/w/../x.atrace` -> `/tmp/x.atrace`): through the
    /// file system, as the kernel resolved it, not by text.
    static func canonical(_ path: String) -> String {
        let url = URL(fileURLWithPath: path)
        guard let dir = realpath(url.deletingLastPathComponent().path, nil) else { return path }
        defer { free(dir) }
        return String(cString: dir) + "/" + url.lastPathComponent
    }

    // MARK: files

    static let suffix = ".index"

    func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(self)
        data.append(0x0A)
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw CommandError("cannot write the recording index \(path): \(String(cString: strerror(errno)))") }
        defer { close(fd) }
        _ = data.withUnsafeBytes { Glibc.write(fd, $0.baseAddress, $0.count) }
    }

    static func load(_ path: String) -> Recording? {
        guard let data = FileManager.default.contents(atPath: path),
              let r = try? JSONDecoder().decode(Recording.self, from: data), r.format == "alloctrace-recording" else { return nil }
        return r
    }

    /// True when the file is a recording index (by its first bytes: JSON, not a trace's magic).
    static func isIndex(_ path: String) -> Bool {
        guard let head = StandardStreams.head(of: path, count: 64) else { return false }
        return head.first == UInt8(ascii: "{") && String(decoding: head, as: UTF8.self).contains("\"")
    }

    /// The recording a path belongs to: the index itself, the main trace's `PATH.index`, or an
    /// index in the same folder that lists the trace. With its path.
    static func find(for path: String) -> (Recording, String)? {
        if isIndex(path), let r = load(path) { return (r, path) }
        if let r = load(path + suffix) { return (r, path + suffix) }
        let url = URL(fileURLWithPath: path).standardizedFileURL
        let dir = url.deletingLastPathComponent().path
        let me = url.resolvingSymlinksInPath().path
        for name in ((try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []).sorted() where name.hasSuffix(suffix) {
            let candidate = dir + "/" + name
            guard let r = load(candidate) else { continue }
            for p in r.processes {
                for i in p.images where URL(fileURLWithPath: i.trace).resolvingSymlinksInPath().path == me { return (r, candidate) }
            }
        }
        return nil
    }

    /// The process a `--process` value names: a pid, or a program name (any image's, the last
    /// image's first). Throws with the candidates when none or several match.
    func select(_ spec: String) throws -> Process {
        if let pid = Int(spec) {
            let matches = processes.filter { $0.pid == pid }
            guard let p = matches.last else { throw CommandError("no process \(pid) in this recording; its processes: \(listing)") }
            return p
        }
        var matches = processes.filter { $0.program == spec || URL(fileURLWithPath: $0.last.argv.first ?? "").lastPathComponent == spec }
        if matches.isEmpty { matches = processes.filter { $0.images.contains { $0.program == spec } } }
        if matches.count == 1 { return matches[0] }
        if matches.isEmpty { throw CommandError("no process named \(spec) in this recording; its processes: \(listing)") }
        throw CommandError("\(matches.count) processes are named \(spec) (pids \(matches.map { String($0.pid) }.joined(separator: ", "))); pick one with --process PID")
    }

    /// The trace of a selected process: its last image's, or the image named `spec` if that was an
    /// earlier image (`--process env` in env -> bash -> python3.11 picks env's trace).
    func trace(of process: Process, spec: String) -> String {
        if Int(spec) == nil, process.program != spec, let image = process.images.last(where: { $0.program == spec }) {
            return image.trace
        }
        return process.last.trace
    }

    private var listing: String {
        let shown = processes.prefix(12).map { "\($0.pid) \($0.program)" }.joined(separator: ", ")
        return processes.count > 12 ? shown + ", ..." : shown
    }
}
