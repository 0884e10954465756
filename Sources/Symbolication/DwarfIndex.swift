import CLibdw

/// One function activation found in the DWARF of a module: the out-of-line function first, then the
/// functions inlined into it down to the innermost one holding the address.
struct DwarfLocation {
    struct Scope {
        /// `DW_AT_name` (following the abstract origin / specification).
        var name: String?
        /// `DW_AT_linkage_name` (the mangled name), following the abstract origin.
        var linkageName: String?
        /// For an inlined function: where its caller called it (`DW_AT_call_file`, `DW_AT_call_line`).
        var callFile: String?
        var callLine: Int?
    }

    /// Outermost (the concrete function) first; empty when the address is in no known function.
    var scopes: [Scope]
    /// The line table's row for the address (innermost location).
    var file: String?
    var line: Int?
}

/// The DWARF of one module, indexed for address lookups.
///
/// clang and swiftc emit no `.debug_aranges`, so libdw's own address-to-unit lookup finds nothing
/// for their code: the compile units' ranges are read once (`dwarf_get_units`, `dwarf_ranges`).
/// Swift nests functions under `DW_TAG_module` (where `dwarf_getscopes` does not look), so each
/// unit's functions are indexed by walking its DIE tree, once, the first time an address falls in it.
final class DwarfIndex {
    private struct Unit {
        var die: Dwarf_Die
        var functions: RangeIndex<Dwarf_Die>?
        var files: OpaquePointer?
        var filesLoaded = false
    }

    /// DWARF address + bias = absolute address.
    let bias: UInt64
    private var units: [Unit] = []
    private var unitRanges = RangeIndex<Int>([])

    /// nil when the module has no DWARF (neither in the file nor in a separate debug file).
    init?(module: OpaquePointer) {
        var bias: Dwarf_Addr = 0
        guard let dwarf = dwfl_module_getdwarf(module, &bias) else { return nil }
        self.bias = bias
        var ranges: [(start: UInt64, end: UInt64, value: Int)] = []
        var cu: OpaquePointer? = nil
        var next: OpaquePointer? = nil
        var version: Dwarf_Half = 0
        var unitType: UInt8 = 0
        var cuDie = Dwarf_Die()
        var subDie = Dwarf_Die()
        while true {
            subDie = Dwarf_Die()
            guard dwarf_get_units(dwarf, cu, &next, &version, &unitType, &cuDie, &subDie) == 0 else { break }
            cu = next
            let type = Int(unitType)
            guard type == DW_UT_compile || type == DW_UT_partial || type == DW_UT_skeleton else { continue }
            // A skeleton unit's code is described by its split unit.
            let die = (type == DW_UT_skeleton && subDie.addr != nil) ? subDie : cuDie
            let index = units.count
            units.append(Unit(die: die))
            for r in DwarfIndex.ranges(of: &cuDie) { ranges.append((r.start, r.end, index)) }
        }
        unitRanges = RangeIndex(ranges)
    }

    /// The scopes and line for absolute address `address` (already `return address - 1`); nil when
    /// no compile unit covers it.
    func locate(_ address: UInt64) -> DwarfLocation? {
        let pc = address &- bias
        guard let u = unitRanges.lookup(pc) else { return nil }
        var cuDie = units[u].die
        var location = DwarfLocation(scopes: [], file: nil, line: nil)
        if let row = dwarf_getsrc_die(&cuDie, pc) {
            var line: Int32 = 0
            dwarf_lineno(row, &line)
            (location.file, location.line) = DwarfIndex.sourceLocation(dwarf_linesrc(row, nil, nil), Int(line))
        }
        if units[u].functions == nil { units[u].functions = DwarfIndex.indexFunctions(&cuDie) }
        guard var function = units[u].functions!.lookup(pc) else { return location }
        location.scopes.append(DwarfIndex.scope(of: &function))
        var inlined: [Dwarf_Die] = []
        DwarfIndex.findInlined(in: &function, pc: pc, chain: &inlined)
        for var die in inlined {
            var scope = DwarfIndex.scope(of: &die)
            var attr = Dwarf_Attribute()
            var value: Dwarf_Word = 0
            var callFile: UnsafePointer<CChar>? = nil
            var callLine = 0
            if dwarf_attr(&die, UInt32(DW_AT_call_file), &attr) != nil, dwarf_formudata(&attr, &value) == 0 {
                callFile = file(unit: u, index: Int(value))
            }
            if dwarf_attr(&die, UInt32(DW_AT_call_line), &attr) != nil, dwarf_formudata(&attr, &value) == 0 {
                callLine = Int(value)
            }
            (scope.callFile, scope.callLine) = DwarfIndex.sourceLocation(callFile, callLine)
            location.scopes.append(scope)
        }
        return location
    }

    /// A name from a unit's file table (`DW_AT_call_file`).
    private func file(unit u: Int, index: Int) -> UnsafePointer<CChar>? {
        if !units[u].filesLoaded {
            units[u].filesLoaded = true
            var files: OpaquePointer? = nil
            var count = 0
            if dwarf_getsrcfiles(&units[u].die, &files, &count) == 0 { units[u].files = files }
        }
        guard let files = units[u].files else { return nil }
        return dwarf_filesrc(files, index, nil, nil)
    }

    /// File and line as frames show them: line 0 is no line; Swift's `<compiler-generated>`
    /// pseudo-file (thunks, implicit code) is no file.
    private static func sourceLocation(_ file: UnsafePointer<CChar>?, _ line: Int) -> (String?, Int?) {
        guard let name = fileName(file), !name.hasSuffix("<compiler-generated>") else { return (nil, nil) }
        return (name, line > 0 ? line : nil)
    }

    private static func fileName(_ p: UnsafePointer<CChar>?) -> String? {
        guard let p, p.pointee != 0 else { return nil }
        return String(cString: p)
    }

    /// A DIE's address ranges (`DW_AT_low_pc`/`high_pc` or `DW_AT_ranges`).
    private static func ranges(of die: inout Dwarf_Die) -> [(start: UInt64, end: UInt64)] {
        var result: [(start: UInt64, end: UInt64)] = []
        var base: Dwarf_Addr = 0, start: Dwarf_Addr = 0, end: Dwarf_Addr = 0
        var offset = dwarf_ranges(&die, 0, &base, &start, &end)
        while offset > 0 {
            if end > start { result.append((start, end)) }
            offset = dwarf_ranges(&die, offset, &base, &start, &end)
        }
        return result
    }

    /// Every function with code in the unit, by its ranges. Walks into modules (Swift), namespaces
    /// and types (C++ and Swift members; not in C, whose types hold no functions); a subprogram's
    /// body is not entered.
    private static func indexFunctions(_ cuDie: inout Dwarf_Die) -> RangeIndex<Dwarf_Die> {
        let language = Int(dwarf_srclang(&cuDie))
        let typesHoldFunctions = !(language == DW_LANG_C89 || language == DW_LANG_C
                                   || language == DW_LANG_C99 || language == DW_LANG_C11)
        var entries: [(start: UInt64, end: UInt64, value: Dwarf_Die)] = []
        func walk(_ parent: inout Dwarf_Die) {
            var child = Dwarf_Die()
            guard dwarf_child(&parent, &child) == 0 else { return }
            repeat {
                switch Int(dwarf_tag(&child)) {
                case DW_TAG_subprogram:
                    for r in ranges(of: &child) { entries.append((r.start, r.end, child)) }
                case DW_TAG_module, DW_TAG_namespace:
                    if dwarf_haschildren(&child) > 0 { walk(&child) }
                case DW_TAG_class_type, DW_TAG_structure_type, DW_TAG_union_type, DW_TAG_enumeration_type,
                     DW_TAG_interface_type:
                    if typesHoldFunctions && dwarf_haschildren(&child) > 0 { walk(&child) }
                default:
                    break
                }
            } while nextSibling(&child)
        }
        walk(&cuDie)
        return RangeIndex(entries)
    }

    /// Appends the inlined-subroutine DIEs that hold `pc` under `parent`, outermost first, going
    /// through lexical blocks (and blocks without addresses, whose children may still have some).
    private static func findInlined(in parent: inout Dwarf_Die, pc: UInt64, chain: inout [Dwarf_Die]) {
        var child = Dwarf_Die()
        guard dwarf_child(&parent, &child) == 0 else { return }
        repeat {
            let tag = Int(dwarf_tag(&child))
            guard tag == DW_TAG_inlined_subroutine || tag == DW_TAG_lexical_block
                    || tag == DW_TAG_try_block || tag == DW_TAG_catch_block else { continue }
            let hasAddresses = dwarf_hasattr(&child, UInt32(DW_AT_low_pc)) != 0
                || dwarf_hasattr(&child, UInt32(DW_AT_ranges)) != 0
            if hasAddresses {
                guard dwarf_haspc(&child, pc) > 0 else { continue }
                if tag == DW_TAG_inlined_subroutine { chain.append(child) }
                findInlined(in: &child, pc: pc, chain: &chain)
                return
            }
            if tag != DW_TAG_inlined_subroutine && dwarf_haschildren(&child) > 0 {
                let before = chain.count
                findInlined(in: &child, pc: pc, chain: &chain)
                if chain.count > before { return }
            }
        } while nextSibling(&child)
    }

    /// Moves `die` to its next sibling; false at the last one.
    private static func nextSibling(_ die: inout Dwarf_Die) -> Bool {
        var current = die
        return dwarf_siblingof(&current, &die) == 0
    }

    /// Name and linkage name of a subprogram or inlined subroutine.
    private static func scope(of die: inout Dwarf_Die) -> DwarfLocation.Scope {
        var scope = DwarfLocation.Scope()
        scope.name = fileName(dwarf_diename(&die))
        var attr = Dwarf_Attribute()
        if dwarf_attr_integrate(&die, UInt32(DW_AT_linkage_name), &attr) != nil
            || dwarf_attr_integrate(&die, UInt32(DW_AT_MIPS_linkage_name), &attr) != nil {
            scope.linkageName = fileName(dwarf_formstring(&attr))
        }
        return scope
    }
}
