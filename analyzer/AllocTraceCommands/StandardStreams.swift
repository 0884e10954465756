import Glibc

/// Plain descriptor I/O for the command line: the analyzer does not load Foundation (whose ICU
/// data maps 40 MB, so `record` could not start under a small `ulimit -v`), and a closed or full
/// stream (EPIPE, EFBIG under `ulimit -f`) loses the text but never traps, as FileHandle would.
enum StandardStreams {
    /// Writes every byte to `fd`, retrying on EINTR; 0, or the errno that stopped it.
    @discardableResult
    static func write(_ fd: Int32, _ bytes: some Collection<UInt8>) -> Int32 {
        let data = Array(bytes)
        var done = 0
        var failure: Int32 = 0
        data.withUnsafeBytes { raw in
            while done < raw.count {
                let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { failure = n < 0 ? errno : EIO; return }
                done += n
            }
        }
        return failure
    }

    static func error(_ text: String) { write(2, text.utf8) }

    /// The first `count` bytes of a file (fewer when it is shorter); nil when it cannot be opened.
    /// Opens only regular files, without blocking: a FIFO named by a path must not hang us.
    static func head(of path: String, count: Int) -> [UInt8]? {
        let fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 { return nil }
        defer { close(fd) }
        var st = stat()
        guard fstat(fd, &st) == 0, st.st_mode & S_IFMT == S_IFREG else { return nil }
        var buf = [UInt8](repeating: 0, count: count)
        let n = buf.withUnsafeMutableBytes { read(fd, $0.baseAddress!, count) }
        return n < 0 ? nil : Array(buf.prefix(n))
    }
}
