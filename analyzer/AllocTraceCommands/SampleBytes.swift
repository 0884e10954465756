import ArgumentParser

/// `--sample-bytes N`: a byte count with an optional binary suffix, as ALLOCTRACE_SAMPLE_BYTES
/// takes it (the recorder reads the plain number the launcher passes on).
enum SampleBytes {
    /// `--sample-bytes`' transform: the count, or the usage error.
    static func option(_ text: String) throws -> UInt64 {
        guard let n = parse(text) else {
            throw ValidationError("--sample-bytes takes a byte count of 1 or more, with an optional K, M or G (KiB, MiB, GiB): 512K")
        }
        return n
    }

    static func parse(_ text: String) -> UInt64? {
        var digits = Substring(text)
        var shift: UInt64 = 0
        if let last = digits.last?.lowercased() {
            switch last {
            case "k": shift = 10
            case "m": shift = 20
            case "g": shift = 30
            default: break
            }
            if shift != 0 { digits = digits.dropLast() }
        }
        guard let n = UInt64(digits), n >= 1, n <= (UInt64(1) << 40) >> shift else { return nil }
        return n << shift
    }
}
