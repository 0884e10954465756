import FoundationEssentials
import Glibc

/// What `record` says when its program has ended: the main program (the last image of the process
/// it started), its trace, and how many other processes were traced; and the recording's index,
/// built from the journal the recorders appended to (docs/FORMAT.md, "Recordings").
enum LaunchAccount {
    /// Creates the empty journal the recorders append to (ALLOCTRACE_INDEX), in the traces'
    /// folder; nil when it cannot be created (the traces are then written without an index).
    /// (The temporary folder when the traces' folder is not one yet, as with `-o %n/trace`.)
    static func createJournal(pattern: String) -> String? {
        let dir = URL(fileURLWithPath: pattern).deletingLastPathComponent().path
        for folder in [dir, FileManager.default.temporaryDirectory.path] {
            let base = folder.hasSuffix("/") ? String(folder.dropLast()) : folder
            var template = Array("\(base)/.alloctrace-journal.\(getpid()).XXXXXX".utf8CString)
            let fd = template.withUnsafeMutableBufferPointer { mkstemp($0.baseAddress!) }
            guard fd >= 0 else { continue }
            close(fd)
            return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }

    /// Builds and writes the recording's index, removes the journal, and (unless quiet) prints the
    /// account. Returns the recording (nil without a journal or when nothing was traced).
    @discardableResult
    static func finish(journal: String?, argv: [String], pid: pid_t, status: Int32, quiet: Bool) -> Recording? {
        guard let journal else {
            if !quiet { printNote("the journal of traced processes could not be created: no index, and the traces are where the pattern put them") }
            return nil
        }
        let text = (try? String(contentsOfFile: journal, encoding: .utf8)) ?? ""
        unlink(journal)
        let recording = Recording(command: argv, mainPid: Int(pid), journal: text, mainStatus: status)
        guard let first = recording.main ?? recording.processes.first else {
            if !quiet {
                printNote("no trace was written: \(argv[0]) ran without the recorder (a statically linked program, "
                          + "or one that cleared LD_PRELOAD), or the recorder said why above")
            }
            return nil
        }
        let indexPath = freeName(first.last.trace + Recording.suffix)
        var written = true
        do { try recording.write(to: indexPath) } catch {
            written = false
            if !quiet { printError("\(error)") }
        }
        if !quiet {
            if let main = recording.main {
                printAccount(recording, main: main, index: written ? indexPath : nil)
            } else {
                // the program started ran untraced (statically linked, say) but started traced ones
                printNote("\(argv[0]) (pid \(pid)) wrote no trace (a statically linked program, or one that cleared LD_PRELOAD)")
                printOthers(recording.processes, index: written ? indexPath : nil)
            }
        }
        return recording
    }

    private static func freeName(_ path: String) -> String {
        var candidate = path
        var n = 1
        while FileManager.default.fileExists(atPath: candidate) { candidate = "\(path).\(n)"; n += 1 }
        return candidate
    }

    static func printAccount(_ recording: Recording, main: Recording.Process, index: String?) {
        let trace = main.last.trace
        var st = stat()
        let size = stat(trace, &st) == 0 ? Int(st.st_size) : 0
        let ended: String
        switch main.end {
        case "exit": ended = "exit status \(main.status ?? 0)"
        case "signal": ended = "killed by signal \(main.status ?? 0)"
        default: ended = "end unknown"
        }
        let chain = main.images.count > 1 ? ", \(main.chain)" : ""
        printNote("main program: \(main.program) (pid \(main.pid)\(chain)), \(ended)")
        if let exec = main.last.execPath { printNote("it then exec'd \(exec), which wrote no trace") }
        printNote("trace written to \(trace) (\(size) bytes)")
        let others = recording.others
        printOthers(others, index: index)
        printNote("analyse it with: alloctrace summary \(Record.shellQuoted(trace))"
                  + (others.isEmpty ? "" : " (add --process PID or NAME for another process)"))
    }

    /// "N other processes traced (bash x34, readlink x5, basename); the recording's index: PATH"
    static func printOthers(_ others: [Recording.Process], index: String?) {
        guard !others.isEmpty else { return }
        var counts: [String: Int] = [:]
        for p in others { counts[p.program, default: 0] += 1 }
        let named = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }
        var list = named.prefix(5).map { $0.value > 1 ? "\($0.key) x\($0.value)" : $0.key }.joined(separator: ", ")
        if named.count > 5 { list += ", ..." }
        let noun = others.count == 1 ? "other process" : "other processes"
        printNote("\(others.count) \(noun) traced (\(list)); the recording's index: \(index ?? "not written")")
    }

}
