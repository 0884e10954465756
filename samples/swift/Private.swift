// `samples private`: private and fileprivate types, whose names must not depend on the run
// (issue 14: the runtime names their context by an address).
//
// Live at exit, held by the global `privateBox`: 10 `Ticket` (private class, 24 bytes: header +
// number), 1 `Session` (fileprivate class holding the tickets and an array of 3 private `Seat`
// structs: one `Swift._ContiguousArrayStorage<samples.(Seat in _...)>`). The trace names them
// `samples.(Ticket in _<32 hex>)`, `samples.(Session in _<32 hex>)`: the file's private
// discriminator, the same in every run of the same source.
// stdout: private: tickets=10 seats=3

private final class Ticket {
    let number: Int

    init(number: Int) { self.number = number }
}

private struct Seat {
    var row: Int
    var column: Int
}

fileprivate final class Session {
    fileprivate var tickets: [Ticket] = []
    fileprivate var seats: [Seat] = []
}

/// Keeps the Session to the end.
nonisolated(unsafe) private var privateBox: Session?

/// Runs the `private` scenario.
@inline(never)
func runPrivate() {
    let session = Session()
    for i in 0..<10 { session.tickets.append(Ticket(number: i)) }
    for i in 0..<3 { session.seats.append(Seat(row: i, column: 2 * i)) }
    privateBox = session
    print("private: tickets=\(session.tickets.count) seats=\(session.seats.count)")
}
