import CLibdw

/// A module's function symbols (`.symtab`, else `.dynsym`, plus MiniDebugInfo), sorted by address:
/// read once with `dwfl_module_getsym_info`, then each lookup is a binary search
/// (`dwfl_module_addrinfo` scans linearly: ~100 us an address in libc, ~600 us in libswiftCore).
struct SymbolTable {
    private let module: OpaquePointer
    /// Absolute start addresses (the module's load bias included), ascending.
    private var starts: [UInt64] = []
    /// Sizes (0 when the symbol has none).
    private var sizes: [UInt64] = []
    /// Indexes for `dwfl_module_getsym_info`: names are read only for the symbols looked up.
    private var indexes: [Int32] = []

    var count: Int { starts.count }

    init(module: OpaquePointer) {
        self.module = module
        let n = dwfl_module_getsymtab(module)
        guard n > 0 else { return }
        var entries: [(start: UInt64, size: UInt64, rank: Int, index: Int32)] = []
        entries.reserveCapacity(Int(n))
        var sym = GElf_Sym()
        var addr: GElf_Addr = 0
        var shndx: GElf_Word = 0
        for i in 1..<n {
            guard let name = dwfl_module_getsym_info(module, i, &sym, &addr, &shndx, nil, nil) else { continue }
            let type = Int32(sym.st_info & 0xf)
            guard type == STT_FUNC || type == STT_GNU_IFUNC, sym.st_shndx != UInt16(SHN_UNDEF), addr != 0,
                  name.pointee != 0 else { continue }
            let bind = Int32(sym.st_info >> 4)
            // At one address prefer a global name with a size over a local or sizeless alias.
            let rank = (sym.st_size > 0 ? 2 : 0) + (bind == STB_GLOBAL ? 1 : 0)
            entries.append((addr, sym.st_size, rank, i))
        }
        entries.sort { $0.start != $1.start ? $0.start < $1.start : $0.rank > $1.rank }
        starts.reserveCapacity(entries.count)
        sizes.reserveCapacity(entries.count)
        indexes.reserveCapacity(entries.count)
        for e in entries where starts.last != e.start {
            starts.append(e.start)
            sizes.append(e.size)
            indexes.append(e.index)
        }
    }

    /// The function symbol holding absolute address `address`: the nearest symbol at or below it,
    /// if `address` lies within its size (or it has no size), its version suffix removed.
    func lookup(_ address: UInt64) -> String? {
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let i = lo - 1
        guard sizes[i] == 0 || address - starts[i] < sizes[i] else { return nil }
        var sym = GElf_Sym()
        var addr: GElf_Addr = 0
        guard let name = dwfl_module_getsym_info(module, indexes[i], &sym, &addr, nil, nil, nil) else { return nil }
        return SymbolTable.stripVersion(String(cString: name))
    }

    /// `memcpy@@GLIBC_2.14` -> `memcpy`; `memcpy@GLIBC_2.2.5` -> `memcpy`.
    static func stripVersion(_ name: String) -> String {
        guard let at = name.utf8.firstIndex(of: UInt8(ascii: "@")), at != name.utf8.startIndex else { return name }
        return String(name[..<at])
    }
}
