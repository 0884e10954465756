#if canImport(Glibc)
import Glibc
#endif
import CIberty

// The Swift runtime's demangler: full names (`samples.Cache.insert(Swift.Int) -> ()`). Only flags 0
// are accepted (any other value aborts the process); the result is malloc'ed.
@_silgen_name("swift_demangle")
private func _swiftDemangle(_ mangledName: UnsafePointer<CChar>?, _ mangledNameLength: Int,
                            _ outputBuffer: UnsafeMutablePointer<CChar>?,
                            _ outputBufferSize: UnsafeMutablePointer<Int>?,
                            _ flags: UInt32) -> UnsafeMutablePointer<CChar>?

// The C++ ABI's demangler (libstdc++); the result is malloc'ed.
@_silgen_name("__cxa_demangle")
private func _cxaDemangle(_ mangledName: UnsafePointer<CChar>?, _ outputBuffer: UnsafeMutablePointer<CChar>?,
                          _ length: UnsafeMutablePointer<Int>?,
                          _ status: UnsafeMutablePointer<Int32>?) -> UnsafeMutablePointer<CChar>?

/// `_swift_backtrace_demangle(name, length, buffer, bufferSize[, status])`: the backtracer's internal
/// SPI. Some runtime versions take a fifth `int *status`; passing it is harmless to the four-argument
/// form (an extra register argument), so it is always passed.
private typealias BacktraceDemangle = @convention(c) (
    UnsafePointer<CChar>?, Int, UnsafeMutablePointer<CChar>?, UnsafeMutablePointer<Int>?,
    UnsafeMutablePointer<Int32>?
) -> UnsafeMutablePointer<CChar>?

/// Looked up at run time: internal to the runtime, it may be absent from another Swift version.
private let backtraceDemangle: BacktraceDemangle? = {
    guard let handle = dlopen(nil, RTLD_NOW), let symbol = dlsym(handle, "_swift_backtrace_demangle") else {
        return nil
    }
    return unsafeBitCast(symbol, to: BacktraceDemangle.self)
}()

/// Turns symbol names into readable function names.
///
/// Swift names come out module-qualified with argument labels and no types
/// (`samples.Cache.insert(_:)`, `closure #1 in samples.runCache(insertCount:)`): the runtime's
/// simplified form (`_swift_backtrace_demangle`, which drops module names) with the modules put
/// back from the full form (`swift_demangle`); without that runtime SPI the full form is simplified
/// here. C++ names come from `__cxa_demangle` unchanged, Rust names from libiberty. Anything else is
/// returned as it is.
public enum Demangler {
    /// True when the runtime's simplified demangler (`_swift_backtrace_demangle`) was found.
    public static var hasRuntimeSimplifier: Bool { backtraceDemangle != nil }

    /// The readable name for `rawName`, or `rawName` itself when it is not a mangled name.
    public static func demangle(_ rawName: String) -> String {
        if isSwiftSymbol(rawName) {
            guard let full = swiftFullName(rawName) else { return rawName }
            if let simplified = swiftSimplifiedName(rawName), !simplified.isEmpty {
                return qualify(simplified: simplified, full: full)
            }
            return simplify(fullSwiftName: full)
        }
        if isRustSymbol(rawName) { return rustName(rawName) ?? rawName }
        if rawName.hasPrefix("_Z") { return cxxName(rawName) ?? rawName }
        return rawName
    }

    /// True for Rust's v0 mangling (`_R`) and its legacy one: an Itanium-style nested name whose
    /// last part is `17h` and 16 hex digits (the crate hash), e.g. `_ZN3std2rt10lang_start17h0123456789abcdefE`.
    public static func isRustSymbol(_ name: String) -> Bool {
        let u = Array(name.utf8.prefix(3))
        if u.count >= 3 && u[0] == UInt8(ascii: "_") && u[1] == UInt8(ascii: "R") { return true }
        guard name.hasPrefix("_ZN"), name.hasSuffix("E") else { return false }
        let tail = Array(name.utf8.suffix(20))
        guard tail.count == 20, tail[0] == UInt8(ascii: "1"), tail[1] == UInt8(ascii: "7"),
              tail[2] == UInt8(ascii: "h") else { return false }
        return tail[3..<19].allSatisfy { ($0 >= 48 && $0 <= 57) || ($0 >= 97 && $0 <= 102) }
    }

    /// libiberty's Rust demangling, without the legacy mangling's hash (`std::rt::lang_start`).
    public static func rustName(_ mangled: String) -> String? {
        mangled.withCString { p in
            guard let out = cplus_demangle(p, DMGL_PARAMS | DMGL_ANSI | DMGL_RUST) else { return nil }
            defer { free(out) }
            return String(cString: out)
        }
    }

    /// True for Swift manglings (`$s`, `_$s`, `$S`, `_T0`, embedded `$e`).
    public static func isSwiftSymbol(_ name: String) -> Bool {
        let u = name.utf8
        guard u.count >= 3 else { return false }
        var it = u.makeIterator()
        var c0 = it.next()!
        if c0 == UInt8(ascii: "_") {
            let c1 = it.next()!
            if c1 == UInt8(ascii: "T") { return it.next() == UInt8(ascii: "0") }
            c0 = c1
        }
        guard c0 == UInt8(ascii: "$"), let c = it.next() else { return false }
        return c == UInt8(ascii: "s") || c == UInt8(ascii: "S") || c == UInt8(ascii: "e")
    }

    /// `swift_demangle`'s full name (`samples.Cache.insert(Swift.Int) -> ()`); nil when not Swift.
    public static func swiftFullName(_ mangled: String) -> String? {
        mangled.withCString { p in
            guard let out = _swiftDemangle(p, strlen(p), nil, nil, 0) else { return nil }
            defer { free(out) }
            return String(cString: out)
        }
    }

    /// The runtime's simplified name (`Cache.insert(_:)`: labels, no types, no modules); nil when
    /// the runtime SPI is absent or the name does not demangle.
    public static func swiftSimplifiedName(_ mangled: String) -> String? {
        guard let demangle = backtraceDemangle else { return nil }
        return mangled.withCString { p in
            var status: Int32 = 0
            guard let out = demangle(p, strlen(p), nil, nil, &status) else { return nil }
            defer { free(out) }
            return String(cString: out)
        }
    }

    /// `__cxa_demangle`'s name (`int max<int>(int, int)`); nil when `mangled` is not a C++ name.
    public static func cxxName(_ mangled: String) -> String? {
        mangled.withCString { p in
            var status: Int32 = 0
            guard let out = _cxaDemangle(p, nil, nil, &status) else { return nil }
            defer { free(out) }
            return status == 0 ? String(cString: out) : nil
        }
    }
}

// MARK: - Swift names: putting modules back, simplifying without the runtime SPI

extension Demangler {
    /// Puts module names from `full` back into the runtime's `simplified` name: every dotted name
    /// outside angle brackets (`Cache.insert`) that `full` spells with a module in front
    /// (`samples.Cache.insert`) gets that module. A top-level closure (`closure #1 in `) gets the
    /// module it belongs to.
    public static func qualify(simplified: String, full: String) -> String {
        let s = Array(simplified.utf8), f = Array(full.utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count + 16)
        var angle = 0
        var i = 0
        while i < s.count {
            let c = s[i]
            // Generic brackets follow a name (`map<A>`); `<` elsewhere is an operator (`Comparable.<`).
            if c == UInt8(ascii: "<") && i > 0 && isIdent(s[i - 1]) { angle += 1 }
            if c == UInt8(ascii: ">") && angle > 0 && !(i > 0 && s[i - 1] == UInt8(ascii: "-")) { angle -= 1 }
            if isIdentHead(c) && (i == 0 || (!isIdent(s[i - 1]) && s[i - 1] != UInt8(ascii: "."))) {
                var j = i
                while true {
                    while j < s.count && isIdent(s[j]) { j += 1 }
                    if j + 1 < s.count && s[j] == UInt8(ascii: ".") && isIdentHead(s[j + 1]) { j += 1 } else { break }
                }
                let chain = Array(s[i..<j])
                if angle == 0, let module = moduleBefore(chainOrHead: chain, in: f) {
                    out += module
                    out.append(UInt8(ascii: "."))
                }
                out += chain
                i = j
                continue
            }
            if isOperator(c) && (i == 0 || s[i - 1] == UInt8(ascii: " ")) {
                // An operator function: `== infix(_:_:)` is `Swift.== infix(_:_:)`.
                var j = i
                while j < s.count && isOperator(s[j]) { j += 1 }
                let op = Array(s[i..<j])
                let fixity = [" infix", " prefix", " postfix"].contains { s[j...].starts(with: $0.utf8) }
                if fixity, let module = moduleBefore(op, in: f) {
                    out += module
                    out.append(UInt8(ascii: "."))
                }
                out += op
                i = j
                continue
            }
            out.append(c)
            i += 1
        }
        // `closure #2 in ` (a closure in top-level code): the full name ends with `in <module>`.
        if out.count >= 4 && out.suffix(4).elementsEqual(" in ".utf8),
           let r = rangeOfLast(Array(" in ".utf8), in: f) {
            let tail = f[r.upperBound...]
            if !tail.isEmpty && tail.allSatisfy(isIdent) { out += tail }
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// The module in front of `chain`, else in front of its first name (`_StringGuts` of
    /// `_StringGuts._foreignConvertedToSmall`, which `full` spells with a private discriminator).
    private static func moduleBefore(chainOrHead chain: [UInt8], in f: [UInt8]) -> ArraySlice<UInt8>? {
        if let m = moduleBefore(chain, in: f) { return m }
        guard let dot = chain.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        return moduleBefore(Array(chain[..<dot]), in: f)
    }

    /// The module that `full` puts directly in front of `chain` (`samples` for `Cache.insert` in
    /// `samples.Cache.insert(Swift.Int) -> ()`), or nil.
    private static func moduleBefore(_ chain: [UInt8], in f: [UInt8]) -> ArraySlice<UInt8>? {
        guard !chain.isEmpty, f.count > chain.count + 1 else { return nil }
        var start = 2
        while start + chain.count <= f.count {
            guard let hit = firstIndex(of: chain, in: f, from: start) else { return nil }
            start = hit + 1
            let end = hit + chain.count
            if end < f.count && isIdent(f[end]) { continue }
            guard f[hit - 1] == UInt8(ascii: "."), isIdent(f[hit - 2]) else { continue }
            var m = hit - 1
            while m > 0 && isIdent(f[m - 1]) { m -= 1 }
            if m > 0 && (f[m - 1] == UInt8(ascii: ".") || f[m - 1] == UInt8(ascii: ")")) { continue }
            guard isIdentHead(f[m]) else { continue }
            return f[m..<(hit - 1)]
        }
        return nil
    }

    /// Simplifies a full Swift name (`swift_demangle`'s) to labels without types, as the runtime's
    /// simplified form does: `samples.Cache.insert(Swift.Int) -> ()` becomes
    /// `samples.Cache.insert(_:)`, `samples.Cache.entries.getter : [Swift.Int : samples.Entry]`
    /// becomes `samples.Cache.entries.getter`, a closure's signature is dropped. Used when the
    /// runtime SPI is absent; module names stay.
    public static func simplify(fullSwiftName full: String) -> String {
        var s = Array(full.utf8)
        if let r = rangeOfFirst(Array(" with unmangled suffix ".utf8), in: s) { s.removeSubrange(r.lowerBound...) }
        while let r = rangeOfFirst(Array(" value witness for ".utf8), in: s) {
            s.replaceSubrange(r, with: " for ".utf8)
        }
        // `(extension in samples):Swift.Array.firstTwo` names the extension's module: drop it.
        while let r = rangeOfFirst(Array("(extension in ".utf8), in: s),
              let close = s[r.upperBound...].firstIndex(of: UInt8(ascii: ")")),
              close + 1 < s.count, s[close + 1] == UInt8(ascii: ":") {
            s.removeSubrange(r.lowerBound...(close + 1))
        }
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        // Prefixes, spelled as the simplified form spells them.
        var i = 0
        var rewritten = true
        while rewritten {
            rewritten = false
            for (long, short) in prefixRewrites {
                let l = Array(long.utf8)
                guard s.count - i >= l.count, s[i..<(i + l.count)].elementsEqual(l) else { continue }
                i += l.count
                if long.hasSuffix("<") {
                    // `generic specialization <Swift.Int> of `: up to `> of ` (the brackets inside
                    // are not always balanced: `[Closure Propagated : ..., Argument Types : [T]>`).
                    let end = Array("> of ".utf8)
                    i = firstIndex(of: end, in: s, from: i).map { $0 + end.count } ?? s.count
                }
                if !out.elementsEqual(short.utf8) { out += short.utf8 }
                rewritten = true
            }
        }
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "<"), let last = out.last, isIdent(last) {
                // Generic parameters: keep their names, drop the where clause.
                let close = matching(s, i)
                let inner = Array(s[(i + 1)..<max(i + 1, close - 1)])
                let kept = rangeOfFirst(Array(" where ".utf8), in: inner)
                    .map { Array(inner[..<$0.lowerBound]) } ?? inner
                out.append(c)
                out += kept
                out.append(UInt8(ascii: ">"))
                i = close
                continue
            }
            if c == UInt8(ascii: "(") {
                let close = matching(s, i)
                if let last = out.last, isIdent(last) || last == UInt8(ascii: ">") {
                    // A parameter list: labels only.
                    out.append(c)
                    for param in splitTopLevel(Array(s[(i + 1)..<max(i + 1, close - 1)])) {
                        out += label(of: param) ?? Array("_".utf8)
                        out.append(UInt8(ascii: ":"))
                    }
                    out.append(UInt8(ascii: ")"))
                    i = skipEffectsAndResult(s, close)
                    continue
                }
                if out.last == UInt8(ascii: " ") && endsWithClosureWord(out) {
                    // A closure's signature: dropped.
                    out.removeLast()
                    i = skipEffectsAndResult(s, close)
                    continue
                }
                // `(_foreignGrow in _408A76AB...)`: a private name and its discriminator.
                let inner = Array(s[(i + 1)..<max(i + 1, close - 1)])
                if let r = rangeOfFirst(Array(" in _".utf8), in: inner), r.lowerBound > 0,
                   inner[..<r.lowerBound].allSatisfy(isIdent), inner[r.upperBound...].allSatisfy(isIdent) {
                    out += inner[..<r.lowerBound]
                } else {
                    out += s[i..<close]
                }
                i = close
                continue
            }
            if c == UInt8(ascii: " ") && i + 2 < s.count && s[i + 1] == UInt8(ascii: ":")
                && s[i + 2] == UInt8(ascii: " ") {
                // `name.getter : Type`: the type goes; so does the module of a conformance
                // (`in conformance Swift.String : Swift.Sequence in Swift`).
                i = skipType(s, i + 3)
                let inWord = Array(" in ".utf8)
                if s.count - i > inWord.count && s[i..<(i + inWord.count)].elementsEqual(inWord)
                    && s[(i + inWord.count)...].allSatisfy(isIdent) {
                    i = s.count
                }
                continue
            }
            out.append(c)
            i += 1
        }
        return String(decoding: out, as: UTF8.self)
    }

    /// Full-form prefixes and their simplified spelling.
    private static let prefixRewrites: [(String, String)] = [
        ("merged ", ""),
        ("generic specialization <", "specialized "),
        ("generic partial specialization <", "specialized "),
        ("generic pre-specialization <", "specialized "),
        ("generic not re-abstracted specialization <", "specialized "),
        ("function signature specialization <", "specialized "),
        ("partial apply forwarder for ", "partial apply for "),
    ]

    /// `key` for `key: Swift.Int`, `_` for `_: A`, nil for an unlabelled `Swift.Int`.
    private static func label(of param: [UInt8]) -> [UInt8]? {
        var j = 0
        while j < param.count && param[j] == UInt8(ascii: " ") { j += 1 }
        let start = j
        while j < param.count && isIdent(param[j]) { j += 1 }
        guard j > start, j + 1 < param.count, param[j] == UInt8(ascii: ":"), param[j + 1] == UInt8(ascii: " ") else {
            return nil
        }
        return Array(param[start..<j])
    }

    /// After a parameter list ending before `i`: skips ` async`, ` throws`, ` throws(E)`,
    /// ` rethrows` and ` -> Result`, stopping at ` in ` or the end.
    private static func skipEffectsAndResult(_ s: [UInt8], _ i: Int) -> Int {
        var i = i
        for word in [" async", " throws", " rethrows"] {
            let w = Array(word.utf8)
            if i + w.count <= s.count && s[i..<(i + w.count)].elementsEqual(w)
                && (i + w.count == s.count || !isIdent(s[i + w.count])) {
                i += w.count
                if i < s.count && s[i] == UInt8(ascii: "(") { i = matching(s, i) }
            }
        }
        let arrow = Array(" -> ".utf8)
        if i + arrow.count <= s.count && s[i..<(i + arrow.count)].elementsEqual(arrow) {
            i = skipType(s, i + arrow.count)
        }
        return i
    }

    /// Skips a type starting at `i`: up to ` in `, a comma or a closing bracket at depth 0, or the end.
    private static func skipType(_ s: [UInt8], _ i: Int) -> Int {
        var i = i
        var depth = 0
        let inWord = Array(" in ".utf8)
        while i < s.count {
            let c = s[i]
            switch c {
            case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "<"):
                depth += 1
            case UInt8(ascii: ">") where i > 0 && s[i - 1] == UInt8(ascii: "-"):
                break
            case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: ">"):
                if depth == 0 { return i }
                depth -= 1
            case UInt8(ascii: ",") where depth == 0:
                return i
            case UInt8(ascii: " ") where depth == 0:
                if i + inWord.count <= s.count && s[i..<(i + inWord.count)].elementsEqual(inWord) { return i }
            default:
                break
            }
            i += 1
        }
        return i
    }

    /// The index after the bracket that closes the one at `open`.
    private static func matching(_ s: [UInt8], _ open: Int) -> Int {
        var depth = 0
        var i = open
        while i < s.count {
            let c = s[i]
            if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") || c == UInt8(ascii: "<") {
                depth += 1
            } else if c == UInt8(ascii: ")") || c == UInt8(ascii: "]")
                        || (c == UInt8(ascii: ">") && !(i > 0 && s[i - 1] == UInt8(ascii: "-"))) {
                depth -= 1
                if depth == 0 { return i + 1 }
            }
            i += 1
        }
        return s.count
    }

    /// The parts of a parameter list between commas at depth 0.
    private static func splitTopLevel(_ s: [UInt8]) -> [[UInt8]] {
        guard !s.isEmpty else { return [] }
        var parts: [[UInt8]] = []
        var depth = 0
        var start = 0
        for (i, c) in s.enumerated() {
            if c == UInt8(ascii: "(") || c == UInt8(ascii: "[") || c == UInt8(ascii: "<") {
                depth += 1
            } else if c == UInt8(ascii: ")") || c == UInt8(ascii: "]")
                        || (c == UInt8(ascii: ">") && !(i > 0 && s[i - 1] == UInt8(ascii: "-"))) {
                depth -= 1
            } else if c == UInt8(ascii: ",") && depth == 0 {
                parts.append(Array(s[start..<i]))
                start = i + 1
            }
        }
        parts.append(Array(s[start...]))
        return parts
    }

    /// True when `out` ends with `closure #N ` (or `implicit closure #N `).
    private static func endsWithClosureWord(_ out: [UInt8]) -> Bool {
        var j = out.count - 1          // the space
        while j > 0 && out[j - 1] >= UInt8(ascii: "0") && out[j - 1] <= UInt8(ascii: "9") { j -= 1 }
        let word = Array("closure #".utf8)
        return j >= word.count && out[(j - word.count)..<j].elementsEqual(word)
    }

    private static func isIdent(_ c: UInt8) -> Bool {
        (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "z")) || (c >= UInt8(ascii: "A") && c <= UInt8(ascii: "Z"))
            || (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || c == UInt8(ascii: "_") || c == UInt8(ascii: "$")
            || c >= 0x80
    }

    private static func isOperator(_ c: UInt8) -> Bool {
        "/=-+!*%<>&|^~?".utf8.contains(c)
    }

    private static func isIdentHead(_ c: UInt8) -> Bool {
        isIdent(c) && !(c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9"))
    }

    private static func firstIndex(of needle: [UInt8], in s: [UInt8], from: Int) -> Int? {
        guard !needle.isEmpty, s.count >= needle.count else { return nil }
        var i = from
        while i + needle.count <= s.count {
            if s[i] == needle[0] && s[i..<(i + needle.count)].elementsEqual(needle) { return i }
            i += 1
        }
        return nil
    }

    private static func rangeOfFirst(_ needle: [UInt8], in s: [UInt8]) -> Range<Int>? {
        firstIndex(of: needle, in: s, from: 0).map { $0..<($0 + needle.count) }
    }

    private static func rangeOfLast(_ needle: [UInt8], in s: [UInt8]) -> Range<Int>? {
        guard s.count >= needle.count else { return nil }
        var i = s.count - needle.count
        while i >= 0 {
            if s[i..<(i + needle.count)].elementsEqual(needle) { return i..<(i + needle.count) }
            i -= 1
        }
        return nil
    }
}
