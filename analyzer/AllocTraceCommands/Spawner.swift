import Foundation

/// Starts the target with posix_spawn and waits for it, standing aside from the terminal's signals.
enum Spawner {
    static func spawn(_ argv: [String], environment: [String: String]) throws -> pid_t {
        let program = argv[0]
        if program.contains("/") {
            guard FileManager.default.fileExists(atPath: program) else {
                throw CommandError("cannot run \(program): no such file", status: 127)
            }
        } else if resolveInPath(program, environment["PATH"] ?? "/usr/bin:/bin") == nil {
            throw CommandError("cannot run \(program): not found in PATH", status: 127)
        }
        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = environment.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, program, nil, nil, cArgs, cEnv)
        if rc != 0 { throw CommandError("cannot run \(program): \(String(cString: strerror(rc)))", status: 127) }
        // The terminal sends ^C and ^\ to the whole group: the target decides, we only report.
        signal(SIGINT, SIG_IGN)
        signal(SIGQUIT, SIG_IGN)
        return pid
    }

    /// The target's exit status; a death by signal N gives 128+N.
    static func wait(_ pid: pid_t) -> Int32 {
        var status: Int32 = 0
        while waitpid(pid, &status, 0) < 0 {
            if errno != EINTR { return 1 }
        }
        let signal = status & 0x7F
        if signal == 0 { return (status >> 8) & 0xFF }
        return 128 + signal
    }

    static func resolveInPath(_ name: String, _ path: String) -> String? {
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
