import ArgumentParser
import FoundationEssentials
import Glibc

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
    StandardStreams.error("alloctrace: error: \(message)\n")
}

/// `alloctrace: MESSAGE` on stderr.
func printNote(_ message: String) {
    StandardStreams.error("alloctrace: \(message)\n")
}

