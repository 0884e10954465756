#if canImport(Glibc)
import Glibc
#endif
import CLibdw
import TraceFormat
import TraceReader

/// Turns a trace's return addresses into source-level frames, offline, from the files on disk.
///
/// Built from the trace's module map: each module's file is reported to libdwfl at the load bias the
/// trace recorded, and its build-id is checked against the trace's. A module whose file is missing
/// or changed gets one warning and its frames show as `module+0xoffset`. Each distinct address is
/// symbolized once and remembered. Not thread-safe: use one Symbolizer from one thread.
public final class Symbolizer {
    /// One line per module that could not be used (missing file, other build-id, not ELF).
    public private(set) var warnings: [String] = []

    private let sessions: DwflSessions
    private var modules: [LoadedModule] = []
    /// Flat address ranges of the modules' segments: [lo, hi) -> index into `modules`.
    private var rangeLows: [UInt64] = []
    private var rangeHighs: [UInt64] = []
    private var rangeModules: [Int] = []
    private var cache: [UInt64: [Frame]] = [:]
    private var demangled: [String: String] = [:]
    /// The trace's Python code objects by id, for Python frames (stack entries with
    /// `PythonFrame.tag`); until it is set such frames are named by their code id only.
    public var pythonCodes: ((UInt32) -> PythonCode?)?

    /// Reports `modules` (a trace's `module` records) for symbolization. `debugInfoPath` is
    /// libdwfl's search path for separate debug files (default `:.debug:/usr/lib/debug`).
    /// `DEBUGINFOD_URLS` is removed from the environment: symbolization never uses the network.
    public init(modules traceModules: [TraceModule], debugInfoPath: String? = nil) {
        unsetenv("DEBUGINFOD_URLS")
        sessions = DwflSessions(debugInfoPath: debugInfoPath)
        for m in traceModules { add(m) }
        sessions.endReporting()
        // Modules reported without segments cover what libdwfl computed from their program headers.
        for (i, m) in modules.enumerated() where m.segmentsFromTrace == false {
            guard let dwfl = m.dwflModule else { continue }
            var lo: Dwarf_Addr = 0, hi: Dwarf_Addr = 0
            _ = dwfl_module_info(dwfl, nil, &lo, &hi, nil, nil, nil, nil)
            if hi > lo { addRange(lo, hi, i) }
        }
    }

    /// The frames of the return address `ip`, innermost first: the inlined functions at the call
    /// site, then the function holding it. Looks up `ip - 1` (the call instruction); remembered.
    public func frames(for ip: UInt64) -> [Frame] {
        if let known = cache[ip] { return known }
        if PythonFrame.isPython(ip) {
            // not remembered until its code object is known (its record may come later in the trace)
            guard let code = pythonCodes?(PythonFrame.codeID(ip)) else { return [Frame(pythonCodeID: PythonFrame.codeID(ip), ip: ip)] }
            let frames = [Frame(python: code, ip: ip)]
            cache[ip] = frames
            return frames
        }
        let frames = resolve(ip)
        cache[ip] = frames
        return frames
    }

    /// The frames of a stack of return addresses (innermost first), one after the other.
    public func symbolize(stack ips: [UInt64]) -> [Frame] {
        var result: [Frame] = []
        result.reserveCapacity(ips.count)
        for ip in ips { result += frames(for: ip) }
        return result
    }

    /// The global variable whose storage holds `address` (a data symbol of the module mapped
    /// there): its readable name (a Swift variable without its type: `samples.graphTable`), the
    /// address's offset in it, and the module's file name. Nil when no module or no symbol covers it.
    public func dataSymbol(at address: UInt64) -> (name: String, offset: UInt64, module: String)? {
        guard let mi = moduleIndex(address) else { return nil }
        if modules[mi].dataSymbols == nil, let dwfl = modules[mi].dwflModule {
            modules[mi].dataSymbols = DataSymbolTable(module: dwfl)
        }
        guard let (raw, start) = modules[mi].dataSymbols?.lookup(address) else { return nil }
        var name = readable(raw)
        if Demangler.isSwiftSymbol(raw) {
            // `samples.graphTable : [Swift.Int : samples.Holder]` -> `samples.graphTable`
            let chars = Array(name.utf8)
            if chars.count >= 3, let i = (0..<(chars.count - 2)).first(where: { chars[$0] == 32 && chars[$0 + 1] == 58 && chars[$0 + 2] == 32 }) {
                name = String(decoding: chars[..<i], as: UTF8.self)
            }
        }
        return (name, address - start, modules[mi].name)
    }

    /// The thread-local variable (`STT_TLS` symbol) of the module at `path` that holds `offset` of
    /// the module's TLS block: its readable name and the offset in it.
    public func tlsSymbol(module path: String, offset: UInt64) -> (name: String, offset: UInt64)? {
        guard let mi = modules.firstIndex(where: { $0.path == path }), let dwfl = modules[mi].dwflModule else { return nil }
        let n = dwfl_module_getsymtab(dwfl)
        guard n > 0 else { return nil }
        var sym = GElf_Sym()
        var addr: GElf_Addr = 0
        var best: (name: String, offset: UInt64)?
        for i in 1..<n {
            guard let name = dwfl_module_getsym_info(dwfl, i, &sym, &addr, nil, nil, nil) else { continue }
            guard Int32(sym.st_info & 0xf) == STT_TLS, sym.st_shndx != UInt16(SHN_UNDEF), name.pointee != 0 else { continue }
            // st_value of a TLS symbol is its offset in the module's TLS block
            guard offset >= sym.st_value && offset - sym.st_value < max(sym.st_size, 1) else { continue }
            best = (readable(SymbolTable.stripVersion(String(cString: name))), offset - sym.st_value)
            if sym.st_size > 0 { break }
        }
        return best
    }

    /// The file name of the module whose segments hold `address`, and the address relative to its
    /// load bias.
    public func module(at address: UInt64) -> (name: String, offset: UInt64)? {
        guard let mi = moduleIndex(address) else { return nil }
        return (modules[mi].name, address &- modules[mi].bias)
    }

    /// Number of distinct addresses symbolized so far.
    public var cachedAddressCount: Int { cache.count }

    /// The GNU build-id of an ELF file on disk (nil when the file is unreadable, not ELF, or has none).
    public static func buildID(ofFile path: String) -> [UInt8]? {
        elf_version(UInt32(EV_CURRENT))
        guard case .success(let fd) = RegularFile.open(path) else { return nil }
        defer { close(fd) }
        guard let elf = elf_begin(fd, ELF_C_READ_MMAP, nil) else { return nil }
        defer { elf_end(elf) }
        var bits: UnsafeRawPointer? = nil
        let n = dwelf_elf_gnu_build_id(elf, &bits)
        guard n > 0, let bits else { return nil }
        return Array(UnsafeRawBufferPointer(start: bits, count: Int(n)))
    }

    // MARK: - reporting

    private func add(_ m: TraceModule) {
        let index = modules.count
        var loaded = LoadedModule(path: m.path, bias: m.loadBias)
        loaded.segmentsFromTrace = !m.segments.isEmpty
        for s in m.segments where s.memsz > 0 {
            addRange(m.loadBias &+ s.vaddr, m.loadBias &+ s.vaddr &+ s.memsz, index)
        }
        defer { modules.append(loaded) }
        // Kernel-provided images have no file: their frames show as name+offset, without a warning.
        if Symbolizer.isKernelImage(m.path) { return }
        let reported: OpaquePointer
        switch sessions.report(path: m.path, bias: m.loadBias) {
        case .failure(let message):
            warnings.append("\(m.path): cannot open: \(message); its frames show as \(loaded.name)+offset")
            return
        case .success(let module):
            reported = module
        }
        if !m.buildID.isEmpty {
            var bits: UnsafePointer<UInt8>? = nil
            var vaddr: GElf_Addr = 0
            let n = dwfl_module_build_id(reported, &bits, &vaddr)
            let onDisk = (n > 0 && bits != nil) ? Array(UnsafeBufferPointer(start: bits, count: Int(n))) : []
            if onDisk != m.buildID {
                let disk = onDisk.isEmpty ? "no build-id" : "build-id \(hex(onDisk))"
                warnings.append("\(m.path): the file has \(disk), the trace recorded \(hex(m.buildID)) "
                    + "(changed since the trace was recorded); its frames show as \(loaded.name)+offset")
                return
            }
        }
        loaded.dwflModule = reported
    }

    /// `[vdso]` (as the recorder names it), `linux-vdso.so.1` / `linux-gate.so.1` (as the dynamic
    /// linker does), or no name at all.
    static func isKernelImage(_ path: String) -> Bool {
        path.isEmpty || path.hasPrefix("[") || path.hasPrefix("linux-vdso.so") || path.hasPrefix("linux-gate.so")
    }

    private func addRange(_ lo: UInt64, _ hi: UInt64, _ module: Int) {
        rangeLows.append(lo)
        rangeHighs.append(hi)
        rangeModules.append(module)
    }

    // MARK: - lookup

    /// The module holding `pc`: the latest reported one when a later module reuses an address
    /// range (dlclose, then dlopen of another library).
    private func moduleIndex(_ pc: UInt64) -> Int? {
        var i = rangeLows.count - 1
        while i >= 0 {
            if pc >= rangeLows[i] && pc < rangeHighs[i] { return rangeModules[i] }
            i -= 1
        }
        return nil
    }

    private func resolve(_ ip: UInt64) -> [Frame] {
        let pc = ip &- 1
        guard let mi = moduleIndex(pc) else {
            return [Frame(function: "0x" + String(ip, radix: 16), module: "[unknown]", moduleOffset: ip)]
        }
        let name = modules[mi].name
        let offset = ip &- modules[mi].bias
        let fallback = [Frame(function: name + "+0x" + String(offset, radix: 16), module: name, moduleOffset: offset)]
        guard let dwfl = modules[mi].dwflModule else { return fallback }

        if modules[mi].dwarf == nil { modules[mi].dwarf = .some(DwarfIndex(module: dwfl)) }
        let location = modules[mi].dwarf!.flatMap { $0.locate(pc) }
        if let location, !location.scopes.isEmpty {
            // Innermost first: the line table gives the innermost location, each inlined scope its
            // caller's (call_file, call_line).
            var frames: [Frame] = []
            var file = location.file, line = location.line
            for (depth, scope) in location.scopes.enumerated().reversed() {
                var linkage = scope.linkageName
                if depth == 0 && linkage == nil, let sym = symbol(mi, pc), demangledOrNil(sym) != nil {
                    linkage = sym   // a mangled symbol says more than a bare DW_AT_name
                }
                var raw = linkage ?? scope.name
                if depth == 0 && raw == nil { raw = symbol(mi, pc) }
                // A mangled linkage name demangles to the readable name; a plain one (an asm label
                // such as glibc's `__GI_bsearch`) is less readable than the source name (`bsearch`).
                let function: String
                if let linkage, let demangled = demangledOrNil(linkage) {
                    function = demangled
                } else {
                    function = scope.name ?? raw.map(readable) ?? fallback[0].function
                }
                frames.append(Frame(function: function, rawName: raw, file: file, line: line, module: name,
                                    moduleOffset: offset, isInlined: depth > 0))
                file = scope.callFile
                line = scope.callLine
            }
            return frames
        }
        if let raw = symbol(mi, pc) {
            return [Frame(function: readable(raw), rawName: raw, file: location?.file, line: location?.line,
                          module: name, moduleOffset: offset)]
        }
        if let location, location.file != nil {
            var f = fallback[0]
            f.file = location.file
            f.line = location.line
            return [f]
        }
        return fallback
    }

    private func symbol(_ mi: Int, _ pc: UInt64) -> String? {
        if modules[mi].symbols == nil, let dwfl = modules[mi].dwflModule {
            modules[mi].symbols = SymbolTable(module: dwfl)
        }
        return modules[mi].symbols?.lookup(pc)
    }

    private func readable(_ raw: String) -> String {
        if let known = demangled[raw] { return known }
        let name = Demangler.demangle(raw)
        demangled[raw] = name
        return name
    }

    /// The demangled name when `raw` is a Swift or C++ mangling, else nil.
    private func demangledOrNil(_ raw: String) -> String? {
        guard Demangler.isSwiftSymbol(raw) || raw.hasPrefix("_Z") else { return nil }
        return readable(raw)
    }

    private func hex(_ bytes: [UInt8]) -> String {
        bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    }
}

/// A module of the trace and what was loaded for it (lazily: symbols and DWARF on first use).
private struct LoadedModule {
    var path: String
    var name: String
    var bias: UInt64
    var segmentsFromTrace = false
    /// nil when the module cannot be used (a warning says why).
    var dwflModule: OpaquePointer?
    var symbols: SymbolTable?
    var dataSymbols: DataSymbolTable?
    /// nil: not looked at yet; .some(nil): no DWARF.
    var dwarf: DwarfIndex??

    init(path: String, bias: UInt64) {
        self.path = path
        self.bias = bias
        self.name = path.split(separator: "/", omittingEmptySubsequences: true).last.map(String.init) ?? path
    }
}
