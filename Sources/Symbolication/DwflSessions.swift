#if canImport(Glibc)
import Glibc
#endif
import CLibdw

/// libdwfl sessions for offline use: modules are reported from their files at the trace's load
/// biases (`dwfl_report_elf`), ELF and debug files found by the standard callbacks (build-id, then
/// `.gnu_debuglink` under the debug path).
///
/// libdwfl keeps pointers to the callbacks and to the debug path for the Dwfl's whole life: both
/// are allocated here and freed after the last `dwfl_end`. Addresses are mapped to modules by the
/// Symbolizer, not by libdwfl, so modules may overlap (a library loaded where an unloaded one was);
/// should libdwfl refuse one for overlapping, it goes into another session.
final class DwflSessions {
    private let callbacks: UnsafeMutablePointer<Dwfl_Callbacks>
    private let pathCell: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>
    private var dwfls: [OpaquePointer] = []

    enum Report {
        case success(OpaquePointer)
        case failure(String)
    }

    init(debugInfoPath: String?) {
        pathCell = .allocate(capacity: 1)
        pathCell.initialize(to: debugInfoPath.flatMap { strdup($0) })
        callbacks = .allocate(capacity: 1)
        callbacks.initialize(to: Dwfl_Callbacks(
            find_elf: dwfl_build_id_find_elf,
            find_debuginfo: debugInfoPath == nil ? LocalDebugFiles.findDebuginfo : dwfl_standard_find_debuginfo,
            section_address: dwfl_offline_section_address,
            debuginfo_path: pathCell))
    }

    deinit {
        for d in dwfls { dwfl_end(d) }
        free(pathCell.pointee)
        pathCell.deallocate()
        callbacks.deallocate()
    }

    /// Reports the ELF file at `path` loaded at `bias` (the address of its vaddr 0).
    func report(path: String, bias: UInt64) -> Report {
        var i = 0
        while true {
            if i == dwfls.count {
                guard let d = dwfl_begin(callbacks) else { return .failure(DwflSessions.lastError()) }
                dwfl_report_begin(d)
                dwfls.append(d)
            }
            let name = path.split(separator: "/").last.map(String.init) ?? path
            // Our own descriptor: only a regular file, opened without blocking (a trace may name a
            // FIFO). libdwfl keeps it with the module; on failure it is ours to close.
            let fd: Int32
            switch RegularFile.open(path) {
            case .success(let d): fd = d
            case .failure(let e): return .failure(e.message)
            }
            if let module = dwfl_report_elf(dwfls[i], name, path, fd, bias, true) {
                return .success(module)
            }
            close(fd)
            let error = dwfl_errno()
            // Overlap with a module of this session: try the next one. Anything else is final.
            if error != DwflSessions.overlapError || i > 64 { return .failure(DwflSessions.message(error)) }
            i += 1
        }
    }

    /// Ends reporting in every session (before any lookup).
    func endReporting() {
        for d in dwfls { dwfl_report_end(d, nil, nil) }
    }

    /// libdwfl's error number for "address range overlaps an existing module" (DWFL_E_OVERLAP),
    /// found by its message: the error enum is not in the public header.
    private static let overlapError: Int32 = {
        var e: Int32 = 1
        while e < 100 {
            if let m = dwfl_errmsg(e), String(cString: m).contains("overlaps") { return e }
            e += 1
        }
        return -1
    }()

    private static func message(_ error: Int32) -> String {
        dwfl_errmsg(error).map { String(cString: $0) } ?? "libdwfl error \(error)"
    }

    private static func lastError() -> String { message(dwfl_errno()) }
}
