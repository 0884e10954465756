import Foundation

/// Writes a command's product to `-o FILE`, or stdout without one.
enum OutputFile {
    static func write(_ bytes: [UInt8], to path: String?) throws {
        guard let path else {
            FileHandle.standardOutput.write(Data(bytes))
            return
        }
        guard FileManager.default.createFile(atPath: path, contents: Data(bytes)) else {
            throw CommandError("cannot write \(path)")
        }
        printNote("wrote \(path) (\(bytes.count) bytes)")
    }

    static func write(_ text: String, to path: String?) throws { try write(Array(text.utf8), to: path) }
}
