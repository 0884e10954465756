import Foundation
import Symbolication
import TraceReader
import XCTest

/// A small program compiled at test time (gcc, clang, g++ or swiftc with -g) that prints its module
/// map (dl_iterate_phdr: load bias, path, PT_LOAD segments) and labelled return addresses taken in
/// its own functions. Tests symbolize those addresses offline from the files on disk.
///
/// Output lines: `module <bias hex> <path>` (the main program's path is empty), then
/// `seg <vaddr hex> <memsz hex> <flags>` for its segments, and `ip <label> <address hex>...`.
struct ProbeRun {
    var executable: String
    var source: String
    var modules: [TraceModule] = []
    var ips: [String: [UInt64]] = [:]

    /// The module map as a trace records it: build-ids read from the files; the main program
    /// under its path; kernel-provided images (the vdso) left out.
    init(executable: String, source: String, output: String) throws {
        self.executable = executable
        self.source = source
        for line in output.split(separator: "\n") {
            let f = line.split(separator: " ").map(String.init)
            switch f.first {
            case "module":
                let path = f.count > 2 ? f[2] : executable
                modules.append(TraceModule(id: UInt64(modules.count + 1), loadBias: UInt64(f[1], radix: 16)!,
                                           ticks: 0, path: path, buildID: [], segments: []))
            case "seg":
                modules[modules.count - 1].segments.append(TraceModule.Segment(
                    vaddr: UInt64(f[1], radix: 16)!, memsz: UInt64(f[2], radix: 16)!, flags: UInt8(f[3])!))
            case "ip":
                ips[f[1]] = f[2...].map { UInt64($0, radix: 16)! }
            default:
                break
            }
        }
        modules.removeAll { !$0.path.hasPrefix("/") }
        for i in modules.indices {
            modules[i].buildID = try XCTUnwrap(Symbolizer.buildID(ofFile: modules[i].path),
                                               "no build-id in \(modules[i].path)")
        }
    }

    func module(named name: String) -> TraceModule? {
        modules.first { fileName($0.path) == name }
    }

    /// The line of `source` holding `tag` (1-based).
    func line(of tag: String) -> Int {
        let lines = source.components(separatedBy: "\n")
        guard let i = lines.firstIndex(where: { $0.contains(tag) }) else {
            XCTFail("tag \(tag) not in the probe's source")
            return -1
        }
        return i + 1
    }
}

enum Probe {
    /// A fresh directory for this test process, removed when it exits.
    static let directory: String = {
        let dir = NSTemporaryDirectory() + "symbolication-tests-\(getpid())"
        try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        atexit { try? FileManager.default.removeItem(atPath: Probe.directory) }
        return dir
    }()

    nonisolated(unsafe) private static var built: [String: ProbeRun] = [:]

    /// `build` once per test process for each `key`.
    static func cached(_ key: String, _ build: () throws -> ProbeRun) throws -> ProbeRun {
        if let run = built[key] { return run }
        let run = try build()
        built[key] = run
        return run
    }

    /// Finds a tool on PATH (or in the Swift toolchain's directory).
    static func tool(_ name: String) -> String? {
        let path = (ProcessInfo.processInfo.environment["PATH"] ?? "") + ":/opt/swift/usr/bin:/usr/bin"
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if FileManager.default.isExecutableFile(atPath: candidate) { return candidate }
        }
        return nil
    }

    /// Runs `executable` with `arguments`; returns stdout, fails the test on a non-zero status.
    @discardableResult
    static func run(_ executable: String, _ arguments: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        let out = Pipe(), err = Pipe()
        process.standardOutput = out
        process.standardError = err
        try process.run()
        let data = out.fileHandleForReading.readDataToEndOfFile()
        let errors = err.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            throw ProbeError.failed("\(executable) \(arguments.joined(separator: " ")): "
                + "status \(process.terminationStatus)\n" + String(decoding: errors, as: UTF8.self))
        }
        return String(decoding: data, as: UTF8.self)
    }

    /// Writes `source` as `name` (and `files` beside it), compiles it with `compiler` and `flags`
    /// (`$DIR` stands for the directory), runs it.
    static func build(_ name: String, source: String, compiler: String, flags: [String],
                      files: [String: String] = [:]) throws -> ProbeRun {
        guard let cc = tool(compiler) else { throw XCTSkip("\(compiler) not found") }
        for (file, text) in files { try text.write(toFile: "\(directory)/\(file)", atomically: true, encoding: .utf8) }
        let src = "\(directory)/\(name)"
        let exe = "\(directory)/\((name as NSString).deletingPathExtension)-\(compiler)"
        try source.write(toFile: src, atomically: true, encoding: .utf8)
        try run(cc, flags.map { $0.replacingOccurrences(of: "$DIR", with: directory) } + [src, "-o", exe])
        return try ProbeRun(executable: exe, source: source, output: try run(exe, []))
    }
}

/// A path's last component.
func fileName(_ path: String) -> String { (path as NSString).lastPathComponent }

enum ProbeError: Error {
    case failed(String)
}

/// The module-map printer shared by the C and C++ probes.
let cModuleMapPrinter = #"""
static int print_module(struct dl_phdr_info *info, size_t size, void *data) {
    (void)size; (void)data;
    printf("module %lx %s\n", (unsigned long)info->dlpi_addr, info->dlpi_name);
    for (int i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type == PT_LOAD)
            printf("seg %lx %lx %u\n", (unsigned long)ph->p_vaddr, (unsigned long)ph->p_memsz, (unsigned)ph->p_flags);
    }
    return 0;
}
"""#
