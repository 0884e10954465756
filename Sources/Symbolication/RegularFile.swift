#if canImport(Glibc)
import Glibc
#endif

/// Opening files that a trace names (module paths, debug files next to them): only regular files,
/// and never blocking. A trace can name a FIFO, a device or a directory; `open` of a FIFO without a
/// writer blocks forever, and reading `/dev/zero` never ends.
enum RegularFile {
    /// A read-only descriptor on `path` if it is a regular file (after symlinks); otherwise the
    /// reason it is not opened.
    static func open(_ path: String) -> Result<Int32, RegularFileError> {
        // O_NONBLOCK: opening a FIFO returns at once (reads of a regular file ignore the flag)
        let fd = Glibc.open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC)
        guard fd >= 0 else { return .failure(RegularFileError(message: String(cString: strerror(errno)))) }
        var st = stat()
        guard fstat(fd, &st) == 0 else {
            let message = String(cString: strerror(errno))
            close(fd)
            return .failure(RegularFileError(message: message))
        }
        guard st.st_mode & S_IFMT == S_IFREG else {
            close(fd)
            return .failure(RegularFileError(message: "not a regular file (\(kind(st.st_mode)))"))
        }
        // Back to blocking reads, as libelf expects of a file descriptor.
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return .success(fd)
    }

    /// Whether `path` is a regular file (after symlinks), without opening it.
    static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && st.st_mode & S_IFMT == S_IFREG
    }

    private static func kind(_ mode: mode_t) -> String {
        switch mode & S_IFMT {
        case S_IFIFO: return "a FIFO"
        case S_IFCHR: return "a character device"
        case S_IFBLK: return "a block device"
        case S_IFDIR: return "a directory"
        case S_IFSOCK: return "a socket"
        default: return "mode \(String(mode, radix: 8))"
        }
    }
}

struct RegularFileError: Error {
    let message: String
}
