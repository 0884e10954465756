#if canImport(Glibc)
import Glibc
#endif
import CLibdw

/// libdwfl's `find_debuginfo` for the default search path, without the debuginfod client.
///
/// `dwfl_standard_find_debuginfo`, when it finds no local debug file (a stripped library without a
/// debug package: libsqlite3, libswiftCore), asks debuginfod, and for that dlopens libdebuginfod and
/// its ~25 libraries (curl, gnutls, krb5, ...) even with `DEBUGINFOD_URLS` unset, which the
/// Symbolizer always unsets: 4-7 ms of dynamic linking for an answer that can only be "none". This
/// callback calls the standard one only when one of the files it would look for locally exists
/// (the build-id path, or the debuglink name next to the file, in `.debug/` or under
/// `/usr/lib/debug`), so every local debug file is found exactly as before.
enum LocalDebugFiles {
    /// libdwfl's default debuginfo path (`:.debug:/usr/lib/debug`): its absolute root.
    static let root = "/usr/lib/debug"

    static let findDebuginfo: @convention(c) (
        OpaquePointer?, UnsafeMutablePointer<UnsafeMutableRawPointer?>?, UnsafePointer<CChar>?, Dwarf_Addr,
        UnsafePointer<CChar>?, UnsafePointer<CChar>?, GElf_Word, UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?
    ) -> Int32 = { mod, userdata, modname, base, file, debuglink, crc, found in
        guard mayExist(mod, file: file.map { String(cString: $0) }, debuglink: debuglink.map { String(cString: $0) })
        else { return -1 }
        return dwfl_standard_find_debuginfo(mod, userdata, modname, base, file, debuglink, crc, found)
    }

    /// Whether any file the standard search tries exists (a superset of its candidates).
    static func mayExist(_ mod: OpaquePointer?, file: String?, debuglink: String?) -> Bool {
        var bits: UnsafePointer<UInt8>? = nil
        var vaddr: GElf_Addr = 0
        if let mod, case let n = dwfl_module_build_id(mod, &bits, &vaddr), n > 1, let bits {
            let id = UnsafeBufferPointer(start: bits, count: Int(n)).map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }
            if exists(root + "/.build-id/" + id[0] + "/" + id[1...].joined() + ".debug") { return true }
        }
        guard let file else { return false }
        let slash = file.lastIndex(of: "/")
        let base = slash.map { String(file[file.index(after: $0)...]) } ?? file
        let name = debuglink ?? base + ".debug"
        var dirs = [slash.map { String(file[..<$0]) } ?? "."]
        if let real = realpath(file, nil) {
            let r = String(cString: real)
            free(real)
            if let s = r.lastIndex(of: "/") { dirs.append(String(r[..<s])) }
        }
        for dir in dirs {
            if name != base && exists(dir + "/" + name) { return true }
            if exists(dir + "/.debug/" + name) || exists(root + dir + "/" + name) { return true }
        }
        return exists(root + "/" + name)
    }

    /// Only regular files count: the standard search then opens none of a FIFO or device's name.
    private static func exists(_ path: String) -> Bool { RegularFile.exists(path) }
}
