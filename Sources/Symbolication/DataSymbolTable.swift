import CLibdw

/// A module's data symbols (`STT_OBJECT`: globals and statics, from `.symtab`, else `.dynsym`),
/// sorted by address, for naming the globals that hold heap pointers.
struct DataSymbolTable {
    private let module: OpaquePointer
    /// Absolute start addresses (load bias included), ascending; sizes; indexes for names.
    private var starts: [UInt64] = []
    private var sizes: [UInt64] = []
    private var indexes: [Int32] = []

    init(module: OpaquePointer) {
        self.module = module
        let n = dwfl_module_getsymtab(module)
        guard n > 0 else { return }
        var entries: [(start: UInt64, size: UInt64, rank: Int, index: Int32)] = []
        var sym = GElf_Sym()
        var addr: GElf_Addr = 0
        var shndx: GElf_Word = 0
        for i in 1..<n {
            guard let name = dwfl_module_getsym_info(module, i, &sym, &addr, &shndx, nil, nil) else { continue }
            guard Int32(sym.st_info & 0xf) == STT_OBJECT, sym.st_shndx != UInt16(SHN_UNDEF), addr != 0,
                  name.pointee != 0 else { continue }
            let bind = Int32(sym.st_info >> 4)
            // at one address prefer a symbol with a size, then a global one
            let rank = (sym.st_size > 0 ? 2 : 0) + (bind == STB_GLOBAL ? 1 : 0)
            entries.append((addr, sym.st_size, rank, i))
        }
        entries.sort { $0.start != $1.start ? $0.start < $1.start : $0.rank > $1.rank }
        for e in entries where starts.last != e.start {
            starts.append(e.start)
            sizes.append(e.size)
            indexes.append(e.index)
        }
    }

    /// The data symbol whose storage holds `address` (a sizeless symbol only at its own address):
    /// its raw name, version suffix removed, and its start.
    func lookup(_ address: UInt64) -> (name: String, start: UInt64)? {
        var lo = 0, hi = starts.count
        while lo < hi {
            let mid = (lo + hi) / 2
            if starts[mid] <= address { lo = mid + 1 } else { hi = mid }
        }
        guard lo > 0 else { return nil }
        let i = lo - 1
        guard address - starts[i] < max(sizes[i], 1) else { return nil }
        var sym = GElf_Sym()
        var addr: GElf_Addr = 0
        guard let name = dwfl_module_getsym_info(module, indexes[i], &sym, &addr, nil, nil, nil) else { return nil }
        return (SymbolTable.stripVersion(String(cString: name)), starts[i])
    }
}
