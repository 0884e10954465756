import ArgumentParser
import TraceFormat
import TraceReader
#if canImport(Glibc)
import Glibc
#endif

/// `alloctrace dump TRACE [--raw]`: every record and event of a trace, one per line.
struct Dump: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump",
        abstract: "Print every record and event of a trace, one per line.",
        discussion: """
            Events are shown in time order across threads (as released at each sync); --raw shows \
            the records as they lie in the file instead, each chunk followed by its events. The \
            last line says whether the trace is complete.
            """
    )

    @OptionGroup var input: TraceFile
    var trace: String { input.trace }

    @OptionGroup var process: ProcessOptions

    @Flag(help: "Show records in file order, with chunk boundaries.")
    var raw = false

    func run() throws {
        var out = DumpPrinter()
        defer { out.flush() }
        try reportingErrors {
            do {
                try dump(into: &out)
            } catch {
                out.flush()   // what was decoded before the error, then the error
                throw error
            }
        }
    }

    private func dump(into out: inout DumpPrinter) throws {
        let reader = try TraceReader(path: try ProcessSelection.resolve(trace))
        reader.estimates = false   // a sampled trace's events as recorded
        out.text("header version=\(reader.formatVersion) flags=\(reader.flags)")
        out.endLine()
        let summary = try reader.replay(order: raw ? .file : .merged, records: { record in
            out.record(record, reader: reader, raw: raw)
        }, events: { batch in
            for e in batch { out.event(e, reader: reader) }
        })
        out.text("totals records=\(summary.records) chunks=\(summary.chunks) syncs=\(summary.syncs) events=\(summary.events)")
        out.endLine()
        if summary.complete {
            out.text("complete: yes")
        } else if let pid = reader.process?.pid, LiveTrace.isWriting(Int32(truncatingIfNeeded: pid), trace) {
            out.text("complete: no (still being written by pid \(pid): \(summary.cutShortReason ?? "the data so far"))")
        } else {
            out.text("complete: no (the trace was cut short: \(summary.cutShortReason ?? "unknown reason"))")
        }
        out.endLine()
        if !summary.complete {
            out.flush()
            printNote("warning: \(trace): the trace was cut short (\(summary.cutShortReason ?? "no end record")); the dump shows what it holds")
        }
    }
}

/// Formats dump lines into a buffer written to standard output in large blocks.
struct DumpPrinter {
    private var buffer: [UInt8] = []
    /// Region starts of the heap-graph snapshot being printed (words are relative to them).
    private var regionStarts: [UInt64] = []

    init() { buffer.reserveCapacity(1 << 17) }

    mutating func flush() {
        guard !buffer.isEmpty else { return }
        buffer.withUnsafeBytes { bytes in
            var done = 0
            while done < bytes.count {
                let n = write(STDOUT_FILENO, bytes.baseAddress! + done, bytes.count - done)
                if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { break }
            }
        }
        buffer.removeAll(keepingCapacity: true)
    }

    mutating func endLine() {
        buffer.append(UInt8(ascii: "\n"))
        if buffer.count >= 1 << 16 { flush() }
    }

    mutating func text(_ s: String) { buffer.append(contentsOf: s.utf8) }

    mutating func byte(_ c: Unicode.Scalar) { buffer.append(UInt8(ascii: c)) }

    mutating func decimal(_ v: UInt64) {
        if v < 10 { buffer.append(UInt8(truncatingIfNeeded: v) + 48); return }
        var digits = 0
        var p: UInt64 = 1
        while p <= v / 10 { p *= 10; digits += 1 }
        var v = v
        while p > 0 { buffer.append(UInt8(truncatingIfNeeded: v / p) + 48); v %= p; p /= 10 }
    }

    mutating func signed(_ v: Int64) {
        if v < 0 { byte("-"); decimal(v.magnitude) } else { decimal(UInt64(v)) }
    }

    mutating func hex(_ v: UInt64) {
        byte("0"); byte("x")
        if v == 0 { byte("0"); return }
        var shift = (63 - v.leadingZeroBitCount) / 4 * 4
        while shift >= 0 {
            let d = UInt8(truncatingIfNeeded: (v >> UInt64(shift)) & 15)
            buffer.append(d < 10 ? d + 48 : d + 87)
            shift -= 4
        }
    }

    /// ` key=` then the value written by the caller.
    mutating func key(_ k: StaticString) {
        byte(" ")
        k.withUTF8Buffer { buffer.append(contentsOf: $0) }
        byte("=")
    }

    /// A string in double quotes; `"`, `\` and control bytes escaped.
    mutating func quoted(_ s: String) {
        byte("\"")
        for c in s.utf8 {
            switch c {
            case UInt8(ascii: "\""): byte("\\"); byte("\"")
            case UInt8(ascii: "\\"): byte("\\"); byte("\\")
            case UInt8(ascii: "\n"): byte("\\"); byte("n")
            case UInt8(ascii: "\t"): byte("\\"); byte("t")
            case UInt8(ascii: "\r"): byte("\\"); byte("r")
            case 0..<0x20, 0x7F:
                byte("\\"); byte("x")
                let digits = Array("0123456789abcdef".utf8)
                buffer.append(digits[Int(c >> 4)])
                buffer.append(digits[Int(c & 15)])
            default: buffer.append(c)
            }
        }
        byte("\"")
    }

    /// Seconds since the start of recording, with nanosecond digits: `0.001234567`.
    mutating func seconds(_ ns: Int64) {
        if ns < 0 { byte("-") }
        let m = ns.magnitude
        decimal(m / 1_000_000_000)
        byte(".")
        let frac = m % 1_000_000_000
        var div: UInt64 = 100_000_000
        while div > 0 { buffer.append(UInt8(truncatingIfNeeded: frac / div % 10) + 48); div /= 10 }
    }

    mutating func time(_ ticks: UInt64, _ reader: TraceReader) {
        key("t")
        seconds(reader.clock.nanosecondsSinceStart(ticks))
    }

    // MARK: lines

    mutating func event(_ e: TraceEvent, reader: TraceReader) {
        text("t=")
        seconds(reader.clock.nanosecondsSinceStart(e.ticks))
        key("thread")
        decimal(UInt64(e.thread))
        byte(" ")
        text(e.kind.name)
        switch e.kind {
        case .malloc, .calloc, .valloc, .pvalloc, .memalign, .posixMemalign, .alignedAlloc:
            key("addr"); hex(e.address)
            key("size"); decimal(e.size)
            if e.kind.hasAlignment { key("align"); decimal(e.alignment) }
            key("stack"); decimal(UInt64(e.stack))
            if e.typeID != 0 { key("type"); decimal(UInt64(e.typeID)) }
        case .realloc, .reallocarray:
            key("old"); hex(e.oldAddress)
            key("new"); hex(e.address)
            key("size"); decimal(e.size)
            key("stack"); decimal(UInt64(e.stack))
            if e.typeID != 0 { key("type"); decimal(UInt64(e.typeID)) }
        case .free:
            key("addr"); hex(e.address)
        case .mark:
            key("label"); quoted(reader.label(of: e) ?? "")
        case .rss:
            key("bytes"); decimal(e.residentBytes)
        case .threadExit:
            break
        }
        endLine()
    }

    mutating func record(_ record: TraceRecord, reader: TraceReader, raw: Bool) {
        switch record {
        case let .process(p):
            text("process")
            key("pid"); decimal(p.pid)
            key("ppid"); decimal(p.ppid)
            key("exe"); quoted(p.executable)
            key("argv"); byte("[")
            for (i, a) in p.arguments.enumerated() {
                if i > 0 { byte(",") }
                quoted(a)
            }
            byte("]")
            key("start_wall_ns"); decimal(p.startWallNanoseconds)
            key("start_ticks"); decimal(p.startTicks)
            key("start_monotonic_ns"); decimal(p.startMonotonicNanoseconds)
            key("clock")
            switch p.clock {
            case .monotonicNanoseconds: text("monotonic")
            case .tsc: text("tsc")
            case nil: text("unknown(\(p.clockRaw))")
            }
            key("swift_types"); text(p.swiftTypeCapture?.name ?? "unknown(\(p.swiftTypeCaptureRaw))")
            key("unwind"); text(p.unwind?.name ?? "unknown(\(p.unwindRaw))")
            key("max_depth"); decimal(p.maxStackDepth)
            key("flush_ms"); decimal(p.flushIntervalMilliseconds)
            key("recorder"); quoted(p.recorderVersion)
        case let .module(m):
            text("module")
            key("id"); decimal(m.id)
            key("path"); quoted(m.path)
            key("bias"); hex(m.loadBias)
            key("build_id"); text(m.buildID.isEmpty ? "none" : m.buildIDHex)
            time(m.ticks, reader)
            key("segments")
            for (i, s) in m.segments.enumerated() {
                if i > 0 { byte(",") }
                hex(s.vaddr); byte("+"); hex(s.memsz); byte(":"); text(s.permissions)
            }
        case let .moduleUnload(id, ticks):
            text("module_unload")
            key("id"); decimal(id)
            time(ticks, reader)
        case let .thread(t):
            text("thread")
            key("index"); decimal(UInt64(t.index))
            key("tid"); decimal(t.tid)
            key("name"); quoted(t.name)
            time(t.ticks, reader)
        case let .stackNodes(first, count):
            var id = first
            for i in 0..<count {
                if i > 0 { endLine() }
                text("stack")
                key("id"); decimal(UInt64(id))
                if let n = reader.stacks.node(id) {
                    key("parent"); decimal(UInt64(n.parent))
                    key("ip"); hex(n.ip)
                }
                id &+= 1
            }
            if count == 0 { text("stack_nodes count=0") }
        case let .type(t):
            text("type")
            key("id"); decimal(UInt64(t.id))
            key("metadata"); hex(t.metadataAddress)
            key("kind"); decimal(UInt64(t.kind))
            key("name"); quoted(t.name)
        case let .chunk(thread, base, bytes):
            guard raw else { return }
            text("chunk")
            key("thread"); decimal(UInt64(thread))
            key("base_ticks"); decimal(base)
            key("bytes"); decimal(UInt64(bytes))
        case let .sync(s):
            text("sync")
            key("watermark"); decimal(s.watermark)
            time(s.watermark, reader)
            key("monotonic_ns"); decimal(s.monotonicNanoseconds)
            key("wall_ns"); decimal(s.wallNanoseconds)
        case let .exec(x):
            text("exec")
            time(x.ticks, reader)
            key("path"); quoted(x.path)
        case let .end(e):
            text("end")
            key("reason")
            switch e.reason {
            case .exit: text("exit")
            case .fatalSignal: text("signal")
            case .explicitFinish: text("finished")
            case .signal: text("terminating_signal")
            case nil: text("unknown(\(e.reasonRaw))")
            }
            key("status"); signed(e.status)
            key("events"); decimal(e.eventsWritten)
            key("dropped"); decimal(e.eventsDropped)
            time(e.ticks, reader)
        case let .heapSnapshot(part):
            heapSnapshot(part, reader: reader, raw: raw)
        case let .pythonCode(c):
            text("python_code")
            key("id"); decimal(UInt64(c.id))
            key("file"); quoted(c.file)
            key("name"); quoted(c.qualifiedName)
            key("first_line"); decimal(UInt64(max(0, c.firstLine)))
            key("line_table_bytes"); decimal(UInt64(c.lineTable.count))
        case let .interpreter(i):
            text("interpreter")
            key("language"); text(i.language == 1 ? "cpython" : "language(\(i.language))")
            key("version"); text(i.version)
            key("frames"); text(i.frames == .python ? "python" : "native")
            key("allocator"); text(i.pymalloc ? "pymalloc" : "malloc")
            if !i.note.isEmpty { key("note"); quoted(i.note) }
        case let .sampling(r):
            text("sampling")
            key("mean_bytes"); decimal(r.meanBytes)
            key("method"); text("poisson-bytes")
        case let .typeLayout(l):
            text("type_layout")
            key("type"); decimal(UInt64(l.typeID))
            if let t = reader.types[l.typeID] { key("name"); quoted(t.name) }
            key("instance_size"); decimal(l.instanceSize)
            key("fields"); byte("[")
            for (i, f) in l.fields.enumerated() {
                if i > 0 { byte(",") }
                text(f.name); byte("@"); decimal(f.offset)
                if f.ownershipRaw != 0 { byte(":"); text(f.ownership?.name ?? "ownership(\(f.ownershipRaw))") }
            }
            byte("]")
        case let .unknown(kind, length):
            text("unknown_record")
            key("kind"); decimal(UInt64(kind))
            key("length"); decimal(UInt64(length))
        }
        endLine()
    }

    /// A heap-graph snapshot part: one line, and with `raw` one more line per region and per word.
    mutating func heapSnapshot(_ part: HeapSnapshotPart, reader: TraceReader, raw: Bool) {
        switch part {
        case let .begin(b):
            regionStarts = []
            text("heap_snapshot begin")
            key("id"); decimal(b.snapshotID)
            key("trigger"); text(b.trigger?.name.replacing(" ", with: "_") ?? "unknown(\(b.triggerRaw))")
            key("thread"); decimal(UInt64(b.threadIndex))
            time(b.ticks, reader)
        case let .regions(rs):
            text("heap_snapshot regions")
            key("first"); decimal(UInt64(regionStarts.count))
            key("count"); decimal(UInt64(rs.count))
            for r in rs {
                if raw {
                    endLine()
                    text("  region")
                    key("index"); decimal(UInt64(regionStarts.count))
                    key("start"); hex(r.start)
                    key("end"); hex(r.end)
                    key("kind"); text(r.kind?.name ?? "unknown(\(r.kindRaw))")
                    key("owner"); decimal(r.owner)
                }
                regionStarts.append(r.start)
            }
        case let .words(w), let .dataWords(w):
            if case .dataWords = part { text("heap_snapshot data_words") } else { text("heap_snapshot words") }
            key("region"); decimal(UInt64(w.regionIndex))
            key("count"); decimal(UInt64(w.count))
            if raw {
                let base = Int(w.regionIndex) < regionStarts.count ? regionStarts[Int(w.regionIndex)] : 0
                for i in 0..<w.count {
                    endLine()
                    text("  word")
                    key("at"); hex(base &+ w.offsets[i])
                    key("value"); hex(w.values[i])
                }
            }
        case let .end(e):
            text("heap_snapshot end")
            key("id"); decimal(e.snapshotID)
            key("bytes_scanned"); decimal(e.bytesScanned)
            key("words"); decimal(e.wordsWritten)
            key("duration_ns"); decimal(e.durationNanoseconds)
        case let .world(w):
            text("heap_snapshot world")
            key("stopped"); text(w.stopped ? "yes" : "no")
            if !w.stopped { key("reason"); text(w.reasonKey); key("errno"); decimal(w.error) }
            key("threads"); decimal(w.threadsStopped)
            key("stop_ns"); decimal(w.stopNanoseconds)
        case let .registers(r):
            text("heap_snapshot registers")
            key("tid"); decimal(UInt64(r.tid))
            key("thread"); decimal(UInt64(r.threadIndex))
            key("sp"); hex(r.stackPointer)
            key("count"); decimal(UInt64(r.values.count))
            if raw {
                for i in 0..<r.values.count {
                    endLine()
                    text("  register")
                    key("name"); text(HeapRegisterNumber.name(r.numbers[i]))
                    key("value"); hex(r.values[i])
                }
            }
        case let .pythonTypes(ts):
            text("heap_snapshot python_types")
            key("count"); decimal(UInt64(ts.count))
            if raw {
                for t in ts {
                    endLine()
                    text("  python_type")
                    key("address"); hex(t.address)
                    key("flags"); hex(t.flags)
                    key("name"); quoted(t.name)
                }
            }
        case let .pythonFacts(fs):
            text("heap_snapshot python_facts")
            key("count"); decimal(UInt64(fs.count))
            key("dead"); decimal(UInt64(fs.filter(\.dead).count))
        case let .pythonNames(ns):
            text("heap_snapshot python_names")
            key("count"); decimal(UInt64(ns.count))
            if raw {
                for n in ns {
                    endLine()
                    switch n {
                    case let .str(address, t):
                        text("  str"); key("address"); hex(address); key("text"); quoted(t)
                    case let .table(address, entries, size, used):
                        text("  keys_table"); key("address"); hex(address); key("entries"); decimal(entries)
                        key("entry_size"); decimal(UInt64(size)); key("used"); decimal(used)
                    case let .key(index, str):
                        text("  key"); key("index"); decimal(index); key("str"); hex(str)
                    case let .module(address, dict, name):
                        text("  module"); key("address"); hex(address); key("dict"); hex(dict); key("name"); quoted(name)
                    case let .pythonClass(address, size, keys, module):
                        text("  class"); key("address"); hex(address); key("basicsize"); decimal(size)
                        key("shared_keys"); hex(keys); key("module"); quoted(module)
                    }
                }
            }
        case let .tlsLayout(ms):
            text("heap_snapshot tls_layout")
            key("count"); decimal(UInt64(ms.count))
            if raw {
                for m in ms {
                    endLine()
                    text("  tls_module")
                    key("module"); decimal(m.moduleID)
                    key("offset"); decimal(m.offset)
                    key("size"); decimal(m.size)
                }
            }
        case let .frames(f):
            text("heap_snapshot frames")
            key("tid"); decimal(UInt64(f.tid))
            key("thread"); decimal(UInt64(f.threadIndex))
            key("count"); decimal(UInt64(f.pcs.count))
            if raw {
                for i in 0..<f.pcs.count {
                    endLine()
                    text("  frame")
                    key("pc"); hex(f.pcs[i])
                    key("sp"); hex(f.slots[i])
                }
            }
        }
    }
}
