import ArgumentParser
import Foundation

/// Runs a command body; a CommandError (or any error) becomes one line on stderr and an exit status.
func reportingErrors<T>(_ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as CommandError {
        printError(error.description)
        throw ExitCode(error.status)
    } catch let error as ExitCode {
        throw error
    } catch {
        printError("\(error)")
        throw ExitCode(1)
    }
}

/// `alloctrace: error: MESSAGE` on stderr.
func printError(_ message: String) {
    writeToStderr("alloctrace: error: \(message)\n")
}

/// `alloctrace: MESSAGE` on stderr.
func printNote(_ message: String) {
    writeToStderr("alloctrace: \(message)\n")
}

/// Writes what it can: a closed or full stderr (EPIPE, EFBIG under `ulimit -f`) loses the message
/// but never traps (FileHandle.write does), so `record` still exits as its program did.
private func writeToStderr(_ text: String) {
    var bytes = Array(text.utf8)
    var done = 0
    bytes.withUnsafeMutableBytes { raw in
        while done < raw.count {
            let n = write(2, raw.baseAddress! + done, raw.count - done)
            if n < 0 && errno == EINTR { continue }
            if n <= 0 { return }
            done += n
        }
    }
}
