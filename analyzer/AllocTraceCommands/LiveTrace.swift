import ArgumentParser
import FoundationEssentials
import Glibc
import TraceFormat
import TraceReader
import TraceReports

/// Traced processes found through /proc, and their traces.
enum LiveTrace {
    /// The traced process `pid` is, or the one it launched; its trace file.
    static func tracedProcess(_ pid: Int32) throws -> (pid: Int32, trace: String) {
        guard pid > 0, FileManager.default.fileExists(atPath: "/proc/\(pid)/stat") else {
            throw CommandError("no process \(pid)")
        }
        if state(pid) == "Z" { throw CommandError("process \(pid) has exited") }
        if let trace = traceFile(of: pid) { return (pid, trace) }
        let children = self.children(of: pid).compactMap { c in traceFile(of: c).map { (pid: c, trace: $0) } }
        if children.count == 1 { return children[0] }
        if children.isEmpty {
            throw CommandError("process \(pid) (\(name(pid))) does not run under alloctrace: it has no trace open and no traced child")
        }
        let list = children.map { "\($0.pid) (\(name($0.pid)))" }.joined(separator: ", ")
        if isatty(0) != 0 && isatty(2) != 0 {
            StandardStreams.error("alloctrace: process \(pid) launched several traced processes: \(list)\nwhich one? ")
            if let line = readLine(), let chosen = Int32(Formatting.trimmed(line)),
               let hit = children.first(where: { $0.pid == chosen }) { return hit }
        }
        throw CommandError("process \(pid) launched several traced processes: \(list); name one with --pid")
    }

    /// The trace file a process writes: an fd open for writing on a regular file that starts with the
    /// trace magic (the recorder's), found in /proc/PID/fd.
    static func traceFile(of pid: Int32) -> String? {
        let dir = "/proc/\(pid)/fd"
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return nil }
        for fd in fds.sorted(by: { (Int($0) ?? 0) < (Int($1) ?? 0) }) {
            let link = dir + "/" + fd
            var st = stat()
            guard stat(link, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG, st.st_size >= 8 else { continue }
            guard let info = try? String(contentsOfFile: "/proc/\(pid)/fdinfo/\(fd)", encoding: .utf8),
                  let flagsLine = info.split(separator: "\n").first(where: { $0.hasPrefix("flags:") }),
                  let flags = Int(Formatting.trimmed(flagsLine.dropFirst(6)), radix: 8),
                  flags & Int(O_ACCMODE) != Int(O_RDONLY) else { continue }
            let h = open(link, O_RDONLY | O_CLOEXEC)
            guard h >= 0 else { continue }
            var magic = [UInt8](repeating: 0, count: 8)
            let n = read(h, &magic, 8)
            close(h)
            let m = TraceFileHeader.magic
            guard n == 8, magic == [m.0, m.1, m.2, m.3, m.4, m.5, m.6, m.7] else { continue }
            // the path it was opened as, when that is still the same file
            if let path = try? FileManager.default.destinationOfSymbolicLink(atPath: link) {
                var same = stat()
                if stat(path, &same) == 0 && same.st_ino == st.st_ino && same.st_dev == st.st_dev { return path }
            }
            return link
        }
        return nil
    }

    /// Whether process `pid` (alive) has the file at `path` open.
    static func isWriting(_ pid: Int32, _ path: String) -> Bool {
        var target = stat()
        guard pid > 0, stat(path, &target) == 0, state(pid) != "Z" else { return false }
        let dir = "/proc/\(pid)/fd"
        guard let fds = try? FileManager.default.contentsOfDirectory(atPath: dir) else { return false }
        for fd in fds {
            var st = stat()
            if stat(dir + "/" + fd, &st) == 0 && st.st_ino == target.st_ino && st.st_dev == target.st_dev { return true }
        }
        return false
    }

    static func children(of pid: Int32) -> [Int32] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap { Int32($0) }.filter { ppid($0) == pid }.sorted()
    }

    /// Fields of /proc/PID/stat after the command name.
    static func statFields(_ pid: Int32) -> [Substring] {
        guard let text = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
              let close = text.lastIndex(of: ")") else { return [] }
        return text[text.index(after: close)...].split(separator: " ")
    }

    static func state(_ pid: Int32) -> String? { statFields(pid).first.map(String.init) }
    static func ppid(_ pid: Int32) -> Int32? { let f = statFields(pid); return f.count > 1 ? Int32(f[1]) : nil }
    static func name(_ pid: Int32) -> String {
        String(Formatting.trimmed((try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8)) ?? "?"))
    }

    /// A variable of the process's environment.
    static func environment(_ pid: Int32, _ name: String) -> String? {
        guard let data = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else { return nil }
        for entry in data.split(separator: 0) {
            let s = String(decoding: entry, as: UTF8.self)
            if s.hasPrefix(name + "=") { return String(s.dropFirst(name.count + 1)) }
        }
        return nil
    }

    /// What a scan of the trace so far found.
    struct Scan {
        var marks: [String] = []
        /// The mark (index from 1) the latest complete heap-graph snapshot belongs to (the last mark
        /// before it).
        var snapshotAfterMark: [Int] = []
    }

    static func scan(_ path: String) throws -> Scan {
        let reader: TraceReader
        do { reader = try TraceReader(path: path) } catch { throw CommandError(error.description) }
        var s = Scan()
        do {
            // file order: no merge needed to see a mark's chunk before its snapshot's records
            try reader.replay(order: .file, records: { record in
                if case .heapSnapshot(.end) = record { s.snapshotAfterMark.append(s.marks.count) }
            }, events: { batch in
                for e in batch where e.kind == .mark { s.marks.append(reader.label(of: e) ?? "") }
            })
        } catch let e as TraceError { throw CommandError(e.description) }
        return s
    }

    /// Marks process `pid` now and waits until the mark, and its heap-graph snapshot when the process
    /// takes them at marks, are in `trace`. Returns the mark's index (from 1).
    static func markAndWait(_ pid: Int32, trace: String, timeout: Double) throws -> Int {
        // a label no earlier mark carries: this analyzer's pid and the time
        var now = timespec()
        clock_gettime(CLOCK_REALTIME, &now)
        let label = "live-\(getpid())-\(now.tv_sec % 100_000)\(now.tv_nsec / 100_000_000)"
        try Mark.send(pid: pid, label: label)
        let graphs = environment(pid, "ALLOCTRACE_HEAP_GRAPH").map { $0.contains("marks") } ?? true
        // the time spent reading the trace does not count: a long trace takes long to read
        var deadline = Date().addingTimeInterval(timeout)
        // the recorder's writer takes the label (removes the file) right before it writes the mark
        let labelFile = "/tmp/alloctrace-mark.\(pid)"
        while access(labelFile, F_OK) == 0 && Date() < deadline && state(pid) != nil && state(pid) != "Z" { usleep(5_000) }
        var pause: useconds_t = 20_000
        while true {
            let started = Date()
            let s = try scan(trace)
            deadline += Date().timeIntervalSince(started)
            if let i = s.marks.lastIndex(of: label) {
                if !graphs || s.snapshotAfterMark.contains(where: { $0 > i }) { return i + 1 }
            }
            if state(pid) == nil || state(pid) == "Z" {
                throw CommandError("process \(pid) ended before the mark reached its trace \(trace)")
            }
            if Date() >= deadline {
                let stopped = state(pid) == "T" || state(pid) == "t" ? " (it is stopped)" : ""
                throw CommandError("timed out after \(Formatting.seconds(timeout)) waiting for process \(pid)\(stopped) to write the mark to \(trace); try a longer --wait")
            }
            usleep(pause)
            pause = min(pause * 2, 200_000)
        }
    }
}
