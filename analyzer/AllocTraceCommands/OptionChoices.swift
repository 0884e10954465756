import ArgumentParser

/// An option that takes one of a closed set of words. A wrong word gets one line naming them
/// all (`--follow takes all, exec or none`), and the help lists them.
protocol OptionChoice: RawRepresentable<String>, CaseIterable, ExpressibleByArgument {
    /// The option's name as the user types it, for the error message.
    static var flag: String { get }
    /// Other spellings accepted for a value.
    static var aliases: [String: Self] { get }
}

extension OptionChoice {
    static var aliases: [String: Self] { [:] }

    init?(argument: String) {
        guard let value = Self(rawValue: argument) ?? Self.aliases[argument] else { return nil }
        self = value
    }

    /// The parser for `@Option(transform:)`: ArgumentParser's own message for a bad value would
    /// not name the choices the way the rest of the command line does.
    static func parse(_ word: String) throws -> Self {
        guard let value = Self(argument: word) else {
            let names = allCases.map(\.rawValue)
            let list = names.count > 1 ? names.dropLast().joined(separator: ", ") + " or " + names.last! : names.joined()
            throw ValidationError("\(flag) takes \(list)")
        }
        return value
    }
}

/// `record --unwind`: how the recorder captures stacks (ALLOCTRACE_UNWIND).
enum UnwindChoice: String, OptionChoice {
    case auto, libunwind, fp, none, verify
    static let flag = "--unwind"
    static var aliases: [String: UnwindChoice] { ["frame-pointers": .fp] }
}

/// `record --heap-graph`: when heap-graph snapshots are taken (ALLOCTRACE_HEAP_GRAPH).
enum HeapGraphChoice: String, OptionChoice {
    case marksAndExit = "marks,exit", marks, exit, off
    static let flag = "--heap-graph"
    static var aliases: [String: HeapGraphChoice] { ["exit,marks": .marksAndExit] }
}

/// `record --follow`: which processes of the tree are traced (ALLOCTRACE_FOLLOW).
enum FollowChoice: String, OptionChoice {
    case all, exec, none
    static let flag = "--follow"
}

/// `top --group`: a row per allocation stack, or per allocating function.
enum SiteGrouping: String, OptionChoice {
    case stack, function
    static let flag = "--group"
}
