import FoundationEssentials
import Glibc

/// Writes a command's product to `-o FILE`, or stdout without one.
///
/// `-o` writes into its destination as a shell's `>` does: a device or a FIFO is written to, a
/// symlink is followed, an existing file keeps its inode (so its hard links), mode and owner and
/// is truncated first; a new file gets 0666 less the umask. Nothing is replaced by a new file.
enum OutputFile {
    static func write(_ bytes: [UInt8], to path: String?) throws {
        guard let path else {
            StandardStreams.write(1, bytes)
            return
        }
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o666)
        if fd < 0 { throw CommandError("cannot write \(path): \(String(cString: strerror(errno)))") }
        var failure = StandardStreams.write(fd, bytes)
        if close(fd) != 0 && failure == 0 && errno != EINTR { failure = errno }
        if failure != 0 { throw CommandError("cannot write \(path): \(String(cString: strerror(failure)))") }
        printNote("wrote \(path) (\(bytes.count) bytes)")
    }

    static func write(_ text: String, to path: String?) throws { try write(Array(text.utf8), to: path) }
}
