/// How trace files are named (docs/FORMAT.md, "Recordings"): one definition for the recorder,
/// which expands the pattern, and the launcher and `debug`, which pass it on.
public enum TraceFileName {
    /// The pattern when none is given: `%n` is the program's name, `%p` its pid.
    public static let defaultPattern: StaticString = "alloctrace.%n.%p.atrace"
}
