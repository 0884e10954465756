import ArgumentParser

/// `alloctrace preload-path`: where the recorder library is, for LD_PRELOAD by hand.
struct PreloadPath: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "preload-path",
        abstract: "Print the absolute path of the recorder library.",
        discussion: "LD_PRELOAD=$(alloctrace preload-path) ALLOCTRACE_OUTPUT=out.atrace PROGRAM records without the launcher."
    )

    func run() throws {
        try reportingErrors { print(try PreloadLibrary.path()) }
    }
}
