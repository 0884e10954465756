#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// Marks moments in a program traced by alloctrace; every call is a no-op when the recorder is absent.
public enum AllocTrace {
    /// Records a mark with this label (the recorder keeps at most 255 bytes of it) at the current moment.
    public static func mark(_ label: String) {
        let address = markFunctionAddress
        guard address != 0, let pointer = UnsafeRawPointer(bitPattern: address) else { return }
        let function = unsafeBitCast(pointer, to: MarkFunction.self)
        label.withCString { function($0) }
    }
}

/// The C signature of the recorder's `void alloctrace_mark(const char *label)`.
private typealias MarkFunction = @convention(c) (UnsafePointer<CChar>) -> Void

/// The address of `alloctrace_mark` (0 when the recorder is not loaded), looked up once: a global
/// `let` is initialised lazily, exactly once and thread-safely (swift_once). Stored as an `Int` so
/// it is `Sendable`.
private let markFunctionAddress: Int = {
    // RTLD_DEFAULT is the null handle on glibc: search the global scope, where an LD_PRELOAD library is.
    guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "alloctrace_mark") else { return 0 }
    return Int(bitPattern: symbol)
}()
