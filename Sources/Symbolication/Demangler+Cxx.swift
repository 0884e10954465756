// MARK: - C++ names: the short form frames and sites show

import Synchronization

/// Short forms already made: a report asks for the same names over and over (a flame graph, the
/// timeline's ordering), and making one was a fifth of `report` on a node.js trace.
private let shortCxxNames = Mutex<[String: String]>([:])

extension Demangler {
    /// A demangled C++ name without its return type, template arguments, parameter list and
    /// qualifiers (`node::(anonymous namespace)::PlatformWorkerThread` for
    /// `node::(anonymous namespace)::PlatformWorkerThread(void*)`). Parentheses that are part of
    /// the name stay: `(anonymous namespace)`, `operator()`; so do operators' own characters
    /// (`std::operator<<`).
    public static func shortCxxName(_ name: String) -> String {
        if let known = shortCxxNames.withLock({ $0[name] }) { return known }
        let short = makeShortCxxName(name)
        shortCxxNames.withLock { $0[name] = short }
        return short
    }

    private static func makeShortCxxName(_ name: String) -> String {
        let s = Array(name.utf8)
        let anonymous = Array("(anonymous namespace)".utf8), op = Array("operator".utf8)
        var out: [UInt8] = []
        out.reserveCapacity(s.count)
        var angle = 0, paren = 0
        var i = 0
        while i < s.count {
            let c = s[i]
            if angle == 0 && paren == 0 {
                if c == UInt8(ascii: "(") && s[i...].starts(with: anonymous) {
                    out += anonymous
                    i += anonymous.count
                    continue
                }
                if c == UInt8(ascii: "o") && s[i...].starts(with: op) && (i == 0 || !isCxxIdent(s[i - 1]))
                    && (i + op.count == s.count || !isCxxIdent(s[i + op.count])) {
                    // `operator()`, `operator<<`, `operator new`: the operator is part of the name
                    out += op
                    i += op.count
                    if s[i...].starts(with: "()".utf8) { out += Array("()".utf8); i += 2; continue }
                    if i + 1 < s.count && s[i] == UInt8(ascii: " ") && isCxxIdent(s[i + 1]) {
                        // `operator new[]`, `operator delete`, a conversion `operator bool`
                        out.append(s[i])
                        i += 1
                        while i < s.count && (isCxxIdent(s[i]) || s[i] == UInt8(ascii: ":") || s[i] == UInt8(ascii: "[")
                                              || s[i] == UInt8(ascii: "]") || s[i] == UInt8(ascii: "*") || s[i] == UInt8(ascii: "&")) {
                            out.append(s[i])
                            i += 1
                        }
                    } else {
                        let punctuation = Array("+-*/%^&|~!=<>,[]".utf8)
                        while i < s.count && punctuation.contains(s[i]) { out.append(s[i]); i += 1 }
                    }
                    continue
                }
            }
            switch c {
            case UInt8(ascii: "<"): angle += 1
            case UInt8(ascii: ">"): if angle > 0 { angle -= 1 }
            case UInt8(ascii: "("): paren += 1
            case UInt8(ascii: ")"): if paren > 0 { paren -= 1 }
            default: if angle == 0 && paren == 0 { out.append(c) }
            }
            i += 1
        }
        // qualifiers after the parameter list (and the space before a dropped template list)
        while out.last == UInt8(ascii: " ") { out.removeLast() }
        for q in [" const", " volatile", " &&", " &", " noexcept"] {
            while out.count > q.utf8.count && out.suffix(q.utf8.count).elementsEqual(q.utf8) { out.removeLast(q.utf8.count) }
        }
        // a return type: everything up to the last space outside the kept names
        var cut = -1
        var k = 0
        while k < out.count {
            if out[k] == UInt8(ascii: "(") && out[k...].starts(with: anonymous) { k += anonymous.count; continue }
            if out[k] == UInt8(ascii: " ") && !(k >= op.count && out[(k - op.count)..<k].elementsEqual(op)) { cut = k }
            k += 1
        }
        if cut >= 0 { out.removeFirst(cut + 1) }
        return out.isEmpty ? name : String(decoding: out, as: UTF8.self)
    }

    private static func isCxxIdent(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95
    }
}
