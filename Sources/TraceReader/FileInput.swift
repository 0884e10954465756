#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// A file opened read-only and read sequentially, up to the size it had when opened: a trace still
/// being written is read as far as it went then, not chased while its process adds to it.
final class FileInput {
    let path: String
    private let fd: Int32
    private var remaining: Int

    init(path: String) throws(TraceError) {
        self.path = path
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        if fd < 0 { throw .unreadable(path: path, reason: FileInput.systemMessage(errno)) }
        self.fd = fd
        var st = stat()
        let regular = fstat(fd, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
        remaining = regular ? Int(st.st_size) : Int.max
    }

    deinit { close(fd) }

    /// Reads up to `count` bytes; returns fewer only at the end of the file (0 there).
    func read(into buffer: UnsafeMutableRawPointer, count: Int) throws(TraceError) -> Int {
        var done = 0
        let count = min(count, remaining)
        defer { remaining -= done }
        while done < count {
            let n = Glibc.read(fd, buffer + done, count - done)
            if n > 0 { done += n; continue }
            if n == 0 { break }
            let e = errno
            if e == EINTR { continue }
            throw .unreadable(path: path, reason: FileInput.systemMessage(e))
        }
        return done
    }

    static func systemMessage(_ code: Int32) -> String {
        guard let s = strerror(code) else { return "error \(code)" }
        return String(cString: s)
    }
}
