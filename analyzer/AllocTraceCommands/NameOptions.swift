import ArgumentParser

/// How Python objects are named: short (`MyBigFatObject`) or module-qualified (`--full-names`).
struct NameOptions: ParsableArguments {
    @Flag(help: "Python objects by module-qualified names (__main__.MyBigFatObject, builtins.list), as in JSON.")
    var fullNames = false

    /// Qualified names: asked for, or JSON (which always carries them, docs/JSON.md).
    func qualified(json: Bool) -> Bool { fullNames || json }
}
