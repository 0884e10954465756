import FoundationEssentials
import Glibc

/// Starts the target with posix_spawn, passes on the signals sent to the launcher, and waits for it.
enum Spawner {
    /// Signals the launcher keeps to itself: the child's end, the ones no one can catch, and job
    /// control (a terminal's ^Z stops the launcher and the program alike, each by itself).
    static let notForwarded: Set<Int32> = [SIGCHLD, SIGKILL, SIGSTOP, SIGTSTP, SIGTTIN, SIGTTOU]

    /// Every signal the launcher forwards, blocked from spawn on and taken with sigwaitinfo.
    static var forwarded: sigset_t {
        var set = sigset_t()
        sigemptyset(&set)
        for sig in 1..<Int32(65) where !notForwarded.contains(sig) { sigaddset(&set, sig) }
        sigaddset(&set, SIGCHLD)
        return set
    }

    nonisolated(unsafe) static var originalMask = sigset_t()

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
        // Blocked before the child exists, so a signal sent right after spawn is forwarded, not
        // lost; the child starts with the mask the launcher had.
        var block = forwarded
        pthread_sigmask(SIG_BLOCK, &block, &originalMask)
        var attr = posix_spawnattr_t()
        posix_spawnattr_init(&attr)
        defer { posix_spawnattr_destroy(&attr) }
        posix_spawnattr_setsigmask(&attr, &originalMask)
        posix_spawnattr_setflags(&attr, Int16(POSIX_SPAWN_SETSIGMASK))
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, program, nil, &attr, cArgs, cEnv)
        if rc != 0 {
            pthread_sigmask(SIG_SETMASK, &originalMask, nil)
            throw CommandError("cannot run \(program): \(String(cString: strerror(rc)))", status: 127)
        }
        return pid
    }

    /// How the target ended: its exit status, or the signal that killed it.
    enum Ending { case exited(Int32), killed(Int32) }

    /// Forwards every signal sent to the launcher by another process to the target until it ends.
    /// Signals that the kernel sent (a terminal's ^C and ^\ go to the whole foreground group) reached
    /// the target already: they are not sent twice. (A process that signals the whole group with
    /// kill(-pgid) cannot be told from one that signals the launcher: the target then gets two.)
    static func wait(_ pid: pid_t) -> Ending {
        var set = forwarded
        while true {
            var status: Int32 = 0
            let done = waitpid(pid, &status, WNOHANG)
            if done == pid {
                let signal = status & 0x7F
                return signal == 0 ? .exited((status >> 8) & 0xFF) : .killed(signal)
            }
            if done < 0 && errno != EINTR { return .exited(1) }
            var info = siginfo_t()
            let sig = sigwaitinfo(&set, &info)
            if sig <= 0 || sig == SIGCHLD { continue }
            let fromProcess = info.si_code <= 0          // SI_USER, SI_QUEUE, SI_TKILL: kill(2) and friends
            let sender = info._sifields._kill.si_pid
            if !fromProcess || sender == pid { continue }
            kill(pid, sig)
        }
    }

    /// Ends the launcher as the target ended: the same exit status, or death by the same signal
    /// (no core file of the launcher's own); 128+N when the signal cannot kill it (pid 1).
    static func exit(as ending: Ending) -> Never {
        switch ending {
        case .exited(let code):
            Glibc.exit(code)
        case .killed(let sig):
            var none = rlimit(rlim_cur: 0, rlim_max: 0)
            _ = setrlimit(__rlimit_resource_t(RLIMIT_CORE.rawValue), &none)
            signal(sig, SIG_DFL)
            var only = sigset_t()
            sigemptyset(&only)
            sigaddset(&only, sig)
            pthread_sigmask(SIG_UNBLOCK, &only, nil)
            raise(sig)
            Glibc.exit(128 + sig)
        }
    }

    static func resolveInPath(_ name: String, _ path: String) -> String? {
        for dir in path.split(separator: ":") {
            let candidate = "\(dir)/\(name)"
            if access(candidate, X_OK) == 0 { return candidate }
        }
        return nil
    }
}
