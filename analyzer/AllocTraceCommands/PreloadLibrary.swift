import FoundationEssentials
import Glibc

/// Finds the recorder library that `record` preloads into the target.
enum PreloadLibrary {
    static let fileName = "libAllocTracePreload.so"

    /// The library's absolute path: $ALLOCTRACE_PRELOAD, else beside this executable (a SwiftPM
    /// build folder), else ../lib of an installed prefix.
    static func path() throws -> String {
        if let explicit = ProcessInfo.processInfo.environment["ALLOCTRACE_PRELOAD"], !explicit.isEmpty {
            guard FileManager.default.isReadableFile(atPath: explicit) else {
                throw CommandError("ALLOCTRACE_PRELOAD names \(explicit), which cannot be read")
            }
            return explicit
        }
        let exe = URL(fileURLWithPath: CommandLine.executablePathResolved).deletingLastPathComponent()
        let candidates = [
            exe.appendingPathComponent(fileName),
            exe.deletingLastPathComponent().appendingPathComponent("lib").appendingPathComponent(fileName),
        ]
        for c in candidates where FileManager.default.isReadableFile(atPath: c.path) {
            return c.standardizedFileURL.path
        }
        throw CommandError("cannot find \(fileName) next to \(exe.path); build it with `swift build` or set ALLOCTRACE_PRELOAD")
    }
}

extension CommandLine {
    /// This executable's real path (through /proc/self/exe, so symlinks and relative argv[0] work).
    static var executablePathResolved: String {
        (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? arguments[0]
    }
}
