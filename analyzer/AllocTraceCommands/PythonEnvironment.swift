import FoundationEssentials
import Glibc

/// What `record` adds to the environment for Python programs.
///
/// CPython's own allocator (pymalloc) keeps objects under 512 bytes in arenas it maps itself, which
/// a malloc tracer never sees; `PYTHONMALLOC=malloc` sends them to malloc, so every object reaches
/// the recorder (the bench's python workload: about 2.3x untraced either way, see README). The
/// `alloctrace` module (marks from Python) goes on PYTHONPATH.
enum PythonEnvironment {
    /// Adds PYTHONMALLOC (unless the user set it) and the marks module's folder; returns the line
    /// to print when the program looks like Python.
    static func prepare(_ env: inout [String: String], argv: [String]) -> String? {
        if let folder = moduleFolder() {
            env["PYTHONPATH"] = env["PYTHONPATH"].map { folder + ":" + $0 } ?? folder
        }
        guard env["PYTHONMALLOC"] == nil else { return nil }
        env["PYTHONMALLOC"] = "malloc"
        guard looksLikePython(argv, path: env["PATH"]) else { return nil }
        return "PYTHONMALLOC=malloc, so that Python's small objects reach the recorder (set PYTHONMALLOC to choose otherwise)"
    }

    /// The folder holding `alloctrace.py`: `../share/alloctrace/python` of an installed prefix,
    /// else the source tree this command was built from (a build folder's command).
    static func moduleFolder() -> String? {
        let exe = URL(fileURLWithPath: CommandLine.executablePathResolved).deletingLastPathComponent()
        let candidates = [
            exe.deletingLastPathComponent().appendingPathComponent("share/alloctrace/python"),
            URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Python"),
        ]
        return candidates.first { FileManager.default.isReadableFile(atPath: $0.appendingPathComponent("alloctrace.py").path) }?.path
    }

    /// `python3 ...`, `python3.12 ...`, or a script whose `#!` line names python.
    static func looksLikePython(_ argv: [String], path: String?) -> Bool {
        guard let program = argv.first else { return false }
        if URL(fileURLWithPath: program).lastPathComponent.hasPrefix("python") { return true }
        let file = program.contains("/") ? program
            : (path ?? "/usr/bin:/bin").split(separator: ":").map { "\($0)/\(program)" }
                .first { FileManager.default.isExecutableFile(atPath: $0) } ?? program
        guard let head = StandardStreams.head(of: file, count: 256) else { return false }
        guard head.starts(with: Array("#!".utf8)) else { return false }
        let line = String(decoding: head.prefix { $0 != 0x0A }, as: UTF8.self)
        return line.contains("python")
    }
}
