import ArgumentParser
import FoundationEssentials
import Glibc

/// `alloctrace mark PID [LABEL]`: marks this moment in a running traced process.
struct Mark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "mark",
        abstract: "Mark the current moment in a running traced process.",
        discussion: "The process must run under the recorder with its mark signal on (ALLOCTRACE_MARK_SIGNAL, default RTMAX-2)."
    )

    @Argument(help: "The traced process.")
    var pid: Int32

    @Argument(help: "The mark's label.")
    var label: String = "mark"

    func run() throws {
        try reportingErrors { try Self.send(pid: pid, label: label) }
    }

    /// Leaves the label for the recorder and sends the process its mark signal.
    static func send(pid: Int32, label: String) throws {
        guard let environ = try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ")) else {
            throw CommandError("no process \(pid) that this user may inspect")
        }
        let variables = environ.split(separator: 0).compactMap { String(data: Data($0), encoding: .utf8) }
        func value(_ name: String) -> String? {
            variables.first { $0.hasPrefix(name + "=") }.map { String($0.dropFirst(name.count + 1)) }
        }
        guard let preload = value("LD_PRELOAD"), preload.contains(PreloadLibrary.fileName) else {
            throw CommandError("process \(pid) does not run under alloctrace (its LD_PRELOAD has no \(PreloadLibrary.fileName))")
        }
        let signal = try Self.signalNumber(value("ALLOCTRACE_MARK_SIGNAL"))
        let path = "/tmp/alloctrace-mark.\(pid)"
        var fd: Int32 = -1
        for _ in 0..<100 {
            fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
            if fd >= 0 || errno != EEXIST { break }
            usleep(10_000)   // the previous mark's label is still waiting to be read
        }
        guard fd >= 0 else { throw CommandError("cannot write \(path): \(String(cString: strerror(errno)))") }
        let bytes = Array(label.utf8.prefix(255))
        _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        close(fd)
        if kill(pid, signal) != 0 {
            unlink(path)
            throw CommandError("cannot signal process \(pid): \(String(cString: strerror(errno)))")
        }
    }

    static func signalNumber(_ text: String?) throws -> Int32 {
        let rtmax = Int32(__libc_current_sigrtmax())
        let rtmin = Int32(__libc_current_sigrtmin())
        guard let text else { return rtmax - 2 }
        switch text {
        case "off", "0": throw CommandError("the process was started with ALLOCTRACE_MARK_SIGNAL=off")
        case "USR1", "SIGUSR1": return SIGUSR1
        case "USR2", "SIGUSR2": return SIGUSR2
        default: break
        }
        if text.hasPrefix("RTMAX-"), let n = Int32(text.dropFirst(6)) { return rtmax - n }
        if text.hasPrefix("RTMIN+"), let n = Int32(text.dropFirst(6)) { return rtmin + n }
        if let n = Int32(text), n > 0, n < 65 { return n }
        return rtmax - 2
    }
}
