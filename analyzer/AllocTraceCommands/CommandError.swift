/// A failure the user can act on: printed as one line, exit status 1 (or `status`).
struct CommandError: Error, CustomStringConvertible {
    let description: String
    let status: Int32

    init(_ message: String, status: Int32 = 1) {
        description = message
        self.status = status
    }
}
