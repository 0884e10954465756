import CRecorderSupport
import TraceFormat

/// Heap-graph capture at a mark or at exit (docs/FORMAT.md, heap_snapshot): every word of writable
/// memory that points into the heap, with the regions it lies in. The analyzer, which knows the
/// live blocks at that moment from the events, turns the words into edges and roots.
///
/// While it scans, the capturing thread holds the writer lock and every thread's slot lock: no
/// allocation is recorded and no block is freed (a free runs under its slot lock), so nothing it
/// reads is released under it. Every other thread is stopped (stop_the_world.c) so that its
/// registers are roots and its stack is read from its stack pointer; when that fails, threads
/// that do not allocate keep running. Memory is read with process_vm_readv, so a mapping another
/// thread removes meanwhile reads as nothing, not a fault.
enum HeapCapture {
    static let maxRegions = 1 << 16
    static let readBytes = 1 << 20

    nonisolated(unsafe) static var regions: UnsafeMutablePointer<at_region>! = nil
    nonisolated(unsafe) static var targets: UnsafeMutablePointer<UInt64>! = nil   // pairs lo, hi
    nonisolated(unsafe) static var dataTargets: UnsafeMutablePointer<UInt64>! = nil  // pairs lo, hi
    nonisolated(unsafe) static var buffer: UnsafeMutablePointer<UInt64>! = nil
    nonisolated(unsafe) static var dataScratch: UnsafeMutablePointer<UInt8>! = nil

    /// Captures now. With `writerLockHeld` the caller already holds the writer lock (exit, the
    /// writer's own rounds); otherwise it is taken here. The guard must be set.
    /// `ownStack` false leaves the capturing thread's stack out of the roots (CPython's shutdown:
    /// `Lifecycle.pythonShutdownBegan`).
    static func capture(_ trigger: HeapSnapshotTrigger, writerLockHeld: Bool, ownStack: Bool = true) {
        if !writerLockHeld {
            guard at_lock_bounded(&G.pointee.writer_lock, 200_000) != 0 else { return }
        }
        defer { if !writerLockHeld { at_unlock(&G.pointee.writer_lock) } }
        if Writer.failed || G.pointee.fd < 0 { return }
        let held = lockAllSlots()
        defer { unlockSlots(held) }
        let startNs = at_monotonic_ns()
        let ticks = at_ticks()
        Writer.round(sync: true, slotsHeld: true)
        // a process that recorded no event needs no tables (below); without them no snapshot at all
        if Writer.eventBytes != 0 && !mapScratch() { return }
        let id = UInt64(at_add32(&G.pointee.snapshots, 1))
        let me = T.pointee.state == UInt32(AT_THREAD_INTERNAL) ? 0 : UInt64(T.pointee.slot?.pointee.thread_index ?? 0)
        var begin = Writer.builder()
        begin.part(.begin)
        begin.varint(id)
        begin.varint(ticks)
        begin.byte(trigger.rawValue)
        begin.varint(me)
        Writer.emit(.heapSnapshot, begin)
        // A process that recorded no event has no block a word could point to: the graph is empty
        // whatever memory holds, so skip stopping threads and reading memory (most of what a
        // short-lived exec'd helper such as /bin/true would pay at exit).
        if Writer.eventBytes == 0 {
            writeEnd(id, scanned: 0, written: 0, startNs: startNs)
            return
        }
        // after the writer's round: a stopped writer thread must not hold a lock the round needs
        var world: UnsafeMutablePointer<at_stw>? = nil
        let stopped = G.pointee.heap_graph & 4 == 0 && at_stw_stop(&world) != 0
        let tls = tlsRegions(me: me, world: stopped ? world : nil)
        let count = Int(at_collect_regions_after(regions, Int32(maxRegions), Int32(tls)))
        if stopped, let w = world { at_label_thread_stacks(regions, Int32(count), w) }
        writeRegions(count)
        writeWorld(world, stopped: stopped)
        writeTLSLayout()
        writeFrames(me: me, world: stopped ? world : nil, count: count)
        at_touched_begin()
        defer { at_touched_end() }
        var context = ScanContext(count: count, me: me, scanned: 0, written: 0, world: stopped ? world : nil, ownStack: ownStack)
        withUnsafeMutablePointer(to: &context) { ctx in
            at_run_spilled({ raw in HeapCapture.scanAll(raw!.assumingMemoryBound(to: HeapCapture.ScanContext.self)) }, ctx)
        }
        if stopped { at_stw_resume(world) }
        writeEnd(id, scanned: context.scanned, written: context.written, startNs: startNs)
    }

    /// The capture's tables, mapped at the first capture that scans (a short-lived process that
    /// recorded nothing never maps them); false when they cannot be.
    static func mapScratch() -> Bool {
        if regions != nil { return true }
        guard let r = at_map(maxRegions * MemoryLayout<at_region>.stride), let t = at_map(maxRegions * 16),
              let d = at_map(maxRegions * 16), let b = at_map(readBytes), let ds = at_map(Writer.scratchBytes)
        else { return false }
        regions = r.assumingMemoryBound(to: at_region.self)
        targets = t.assumingMemoryBound(to: UInt64.self)
        dataTargets = d.assumingMemoryBound(to: UInt64.self)
        buffer = b.assumingMemoryBound(to: UInt64.self)
        dataScratch = ds.assumingMemoryBound(to: UInt8.self)
        return true
    }

    static func writeEnd(_ id: UInt64, scanned: UInt64, written: UInt64, startNs: UInt64) {
        var end = Writer.builder()
        end.part(.end)
        end.varint(id)
        end.varint(scanned)
        end.varint(written)
        end.varint(at_monotonic_ns() &- startNs)
        Writer.emit(.heapSnapshot, end)
        Writer.flush()
    }

    struct ScanContext {
        var count: Int
        var me: UInt64
        var scanned: UInt64
        var written: UInt64
        /// The stopped threads, when the world was stopped.
        var world: UnsafeMutablePointer<at_stw>?
        /// Whether the capturing thread's stack is scanned.
        var ownStack: Bool
    }

    /// Static TLS areas of the capturing thread and of the stopped ones, listed before the other
    /// regions (which then leave them out). Uses `targets` as scratch: it is filled later.
    static func tlsRegions(me: UInt64, world: UnsafeMutablePointer<at_stw>?) -> Int {
        let tps = targets!, owners = targets! + maxRegions
        var n = 0
        // the writer's TLS (in its stack's mapping) is the recorder's, as its stack is
        if UInt32(bitPattern: at_gettid()) != at_load32(&G.pointee.writer_tid) {
            tps[n] = at_thread_pointer()
            owners[n] = me != 0 ? me : ownerOf(tid: Int32(at_gettid()))
            n += 1
        }
        if let w = world {
            for i in 0..<w.pointee.count where n < maxRegions {
                let t = at_stw_thread_at(w, i)!
                guard at_stw_thread_is_root(t) != 0 else { continue }
                tps[n] = at_stw_reg(t, Int32(AT_REG_FS_BASE))
                owners[n] = ownerOf(tid: t.pointee.tid)
                n += 1
            }
        }
        return Int(at_tls_regions(regions, Int32(maxRegions), tps, owners, Int32(n)))
    }

    /// A region owner for a thread: its index, or AT_OWNER_TID + tid when it has no slot.
    static func ownerOf(tid: Int32) -> UInt64 {
        let index = threadIndex(tid: tid)
        return index != 0 ? index : AT_OWNER_TID | UInt64(UInt32(bitPattern: tid))
    }

    /// Part 8: each loaded module's static TLS block, as a distance below the thread pointer.
    static func writeTLSLayout() {
        var r = Writer.builder()
        r.part(.tlsLayout)
        let countAt = r.reserveCount()
        var n: UInt64 = 0
        let modules = at_load32(&G.pointee.module_count)
        var i: UInt32 = 0
        while i < modules && r.room > 64 {
            let m = at_module_at(i)!
            if m.pointee.unload_ticks == 0 && m.pointee.tls_offset != 0 {
                r.varint(UInt64(m.pointee.id))
                r.varint(m.pointee.tls_offset)
                r.varint(m.pointee.tls_size)
                n += 1
            }
            i += 1
        }
        RecordBuilder.patchCount(countAt, n)
        Writer.emit(.heapSnapshot, r)
    }

    /// Part 7, per thread whose stack pointer is known: its frames by the return addresses on its
    /// stack. The capturing thread's start above the recorder's own frames.
    static func writeFrames(me: UInt64, world: UnsafeMutablePointer<at_stw>?, count: Int) {
        let sp = at_stack_pointer()
        writeFrames(tid: Int32(at_gettid()), index: me, pc: 0, sp: sp, count: count)
        guard let w = world else { return }
        for i in 0..<w.pointee.count {
            let t = at_stw_thread_at(w, i)!
            guard at_stw_thread_is_root(t) != 0 else { continue }
            writeFrames(tid: t.pointee.tid, index: threadIndex(tid: t.pointee.tid), pc: at_stw_reg(t, Int32(AT_REG_RIP)),
                        sp: at_stw_reg(t, Int32(AT_REG_RSP)), count: count)
        }
    }

    static func writeFrames(tid: Int32, index: UInt64, pc: UInt64, sp: UInt64, count: Int) {
        var hi: UInt64 = 0
        for k in 0..<count where regions[k].start <= sp && sp < regions[k].end { hi = regions[k].end }
        guard hi != 0 else { return }
        // the read buffer's upper half holds the frames, its lower half the stack words read
        let maxFrames = 1024
        let pcs = buffer + readBytes / 8 / 2, slots = pcs + maxFrames
        var n = Int(at_stack_frames(pc, sp, hi, pcs, slots, Int32(maxFrames), buffer))
        var first = 0
        if pc == 0 { first = 1; n = max(n, 1) }   // the capturer: no interrupted instruction
        var r = Writer.builder()
        r.part(.frames)
        r.varint(UInt64(UInt32(bitPattern: tid)))
        r.varint(index)
        r.byte(pc == 0 ? HeapFramesFlags.firstIsReturnAddress : 0)
        let countAt = r.reserveCount()
        var k = first
        while k < n && r.room > 32 {
            r.varint(pcs[k])
            r.varint(slots[k])
            k += 1
        }
        RecordBuilder.patchCount(countAt, UInt64(k - first))
        Writer.emit(.heapSnapshot, r)
    }

    /// Part 5: whether the other threads were stopped, why not, and how long stopping took.
    static func writeWorld(_ world: UnsafeMutablePointer<at_stw>?, stopped: Bool) {
        var r = Writer.builder()
        r.part(.world)
        var reason = HeapWorldStopReason.unsupported.rawValue
        var threads: UInt64 = 0
        if G.pointee.heap_graph & 4 != 0 { reason = HeapWorldStopReason.disabled.rawValue }
        else if let w = world { reason = stopped ? HeapWorldStopReason.stopped.rawValue : UInt8(truncatingIfNeeded: w.pointee.reason) }
        if stopped, let w = world {
            for i in 0..<w.pointee.count {
                let t = at_stw_thread_at(w, i)!
                if t.pointee.stopped != 0 && t.pointee.gone == 0 { threads += 1 }
            }
        }
        r.byte(reason)
        r.varint(UInt64(UInt32(bitPattern: world?.pointee.error ?? 0)))
        r.varint(threads)
        r.varint(stopped ? world!.pointee.stop_ns : 0)
        Writer.emit(.heapSnapshot, r)
    }

    /// user_regs_struct's index of DWARF x86-64 register `number` (0-16).
    static func userIndex(_ number: Int) -> Int32 {
        switch number {
        case 0: return Int32(AT_REG_RAX)
        case 1: return Int32(AT_REG_RDX)
        case 2: return Int32(AT_REG_RCX)
        case 3: return Int32(AT_REG_RBX)
        case 4: return Int32(AT_REG_RSI)
        case 5: return Int32(AT_REG_RDI)
        case 6: return Int32(AT_REG_RBP)
        case 7: return Int32(AT_REG_RSP)
        case 8: return Int32(AT_REG_R8)
        case 9: return Int32(AT_REG_R9)
        case 10: return Int32(AT_REG_R10)
        case 11: return Int32(AT_REG_R11)
        case 12: return Int32(AT_REG_R12)
        case 13: return Int32(AT_REG_R13)
        case 14: return Int32(AT_REG_R14)
        case 15: return Int32(AT_REG_R15)
        default: return Int32(AT_REG_RIP)
        }
    }

    /// The thread index of the slot a thread registered with; 0 when it has none.
    static func threadIndex(tid: Int32) -> UInt64 {
        guard let slots = G.pointee.slots else { return 0 }
        let high = Int(at_load32(&G.pointee.slot_high))
        for i in 0..<high where slots[i].state == UInt32(AT_SLOT_ACTIVE) && slots[i].tid == tid {
            return UInt64(slots[i].thread_index)
        }
        return 0
    }

    /// Part 6, one per stopped thread: its stack pointer and the registers that point where blocks
    /// can lie (general registers by DWARF number, xmm i's halves as 17 + i and 64 + i).
    static func writeRegisters(_ w: UnsafeMutablePointer<at_stw>, _ nTargets: Int) {
        let lowest = targets[0], highest = targets[(nTargets - 1) * 2 + 1]
        for i in 0..<w.pointee.count {
            let t = at_stw_thread_at(w, i)!
            guard at_stw_thread_is_root(t) != 0 else { continue }
            var r = Writer.builder()
            r.part(.registers)
            r.varint(UInt64(UInt32(bitPattern: t.pointee.tid)))
            r.varint(threadIndex(tid: t.pointee.tid))
            r.varint(at_stw_reg(t, Int32(AT_REG_RSP)))
            let countAt = r.reserveCount()
            var n: UInt64 = 0
            var previous: UInt64 = 0
            // ascending numbers: the general registers, every xmm low half, every high half
            let general = HeapRegisterNumber.generalCount, xmm = t.pointee.has_xmm != 0 ? 16 : 0
            for k in 0..<(general + 2 * xmm) {
                let number: UInt8, v: UInt64
                if k < general { number = UInt8(k); v = at_stw_reg(t, userIndex(k)) }
                else if k < general + xmm { number = HeapRegisterNumber.xmmLow(k - general); v = at_stw_xmm(t, Int32(2 * (k - general))) }
                else { number = HeapRegisterNumber.xmmHigh(k - general - xmm); v = at_stw_xmm(t, Int32(2 * (k - general - xmm) + 1)) }
                guard v >= lowest && v < highest && inRanges(v, targets, nTargets) else { continue }
                r.byte(number)
                r.p = AddressDelta.write(v, against: previous, to: r.p)
                previous = v
                n += 1
            }
            RecordBuilder.patchCount(countAt, n)
            Writer.emit(.heapSnapshot, r)
        }
    }

    /// Where a stack region's live part starts: at the stack pointer of the stopped thread it
    /// belongs to, less the 128-byte red zone a leaf function may use below it.
    static func liveStart(_ region: at_region, _ w: UnsafeMutablePointer<at_stw>) -> UInt64 {
        for i in 0..<w.pointee.count {
            let t = at_stw_thread_at(w, i)!
            guard at_stw_thread_is_root(t) != 0 else { continue }
            let sp = at_stw_reg(t, Int32(AT_REG_RSP))
            if sp >= region.start && sp < region.end { return max(region.start, (sp &- 128) & ~7) }
        }
        return region.start
    }

    /// Takes every slot lock, and again for slots registered meanwhile. Returns how many are held.
    static func lockAllSlots() -> Int {
        guard let slots = G.pointee.slots else { return 0 }
        var held = 0
        while true {
            let high = Int(at_load32(&G.pointee.slot_high))
            while held < high { at_lock(&slots[held].lock); held += 1 }
            if Int(at_load32(&G.pointee.slot_high)) == held { break }
        }
        if let orphan = G.pointee.orphan { at_lock(&orphan.pointee.lock) }
        return held
    }

    static func unlockSlots(_ held: Int) {
        if let orphan = G.pointee.orphan { at_unlock(&orphan.pointee.lock) }
        guard let slots = G.pointee.slots else { return }
        for i in 0..<held { at_unlock(&slots[i].lock) }
    }

    static func writeRegions(_ count: Int) {
        var i = 0
        while i < count {
            var r = Writer.builder()
            r.part(.regions)
            let countAt = r.reserveCount()
            var n: UInt64 = 0
            while i < count && r.room > 64 {
                let region = regions[i]
                r.varint(region.start)
                r.varint(region.end)
                r.byte(UInt8(region.kind))
                r.varint(UInt64(region.owner))
                n += 1
                i += 1
            }
            RecordBuilder.patchCount(countAt, n)
            Writer.emit(.heapSnapshot, r)
        }
    }

    /// Writes one region's words as `heap_snapshot` parts 2 (pointers into the heap) or 4 (pointers
    /// into module data at 16-byte aligned addresses: C++ vtables, Swift metadata), each in its own
    /// scratch memory so both can be open at once.
    struct WordWriter {
        let part: HeapSnapshotPartKind
        let scratch: UnsafeMutablePointer<UInt8>
        let region: Int
        let regionStart: UInt64
        var r: RecordBuilder
        var countAt: UnsafeMutablePointer<UInt8>
        var n: UInt64 = 0
        var previous: UInt64 = 0
        var previousTarget: UInt64 = 0
        var written: UInt64 = 0

        init(part: HeapSnapshotPartKind, scratch: UnsafeMutablePointer<UInt8>, region: Int, start: UInt64) {
            self.part = part
            self.scratch = scratch
            self.region = region
            regionStart = start
            r = RecordBuilder(scratch, capacity: Writer.scratchBytes)
            countAt = r.p
            open()
        }

        mutating func open() {
            r = RecordBuilder(scratch, capacity: Writer.scratchBytes)
            r.part(part)
            r.varint(UInt64(region))
            countAt = r.reserveCount()
            n = 0
            previous = regionStart
            previousTarget = 0
        }

        mutating func close() {
            guard n > 0 else { return }
            RecordBuilder.patchCount(countAt, n)
            Writer.emit(.heapSnapshot, r)
            written &+= n
        }

        @inline(__always)
        mutating func add(_ at: UInt64, _ v: UInt64) {
            if r.room < 32 { close(); open() }
            r.varint((at - previous) >> 3)
            r.p = AddressDelta.write(v, against: previousTarget, to: r.p)
            previous = at
            previousTarget = v
            n += 1
        }
    }

    /// Scans every region for words that point into anonymous memory or the heap, and, inside the
    /// heap, for block-start words that point into module data.
    static func scanAll(_ ctx: UnsafeMutablePointer<ScanContext>) {
        let count = ctx.pointee.count
        // where blocks can be: the brk heap and anonymous mappings (not stacks, not module data)
        var nTargets = 0
        var nData = 0
        for i in 0..<count where regions[i].kind == UInt32(AT_REGION_ANON) || regions[i].kind == UInt32(AT_REGION_HEAP) {
            targets[nTargets * 2] = regions[i].start
            targets[nTargets * 2 + 1] = regions[i].end
            nTargets += 1
        }
        for i in 0..<count where regions[i].kind == UInt32(AT_REGION_MODULE) {
            dataTargets[nData * 2] = regions[i].start
            dataTargets[nData * 2 + 1] = regions[i].end
            nData += 1
        }
        guard nTargets > 0 else { return }
        // a Python process: every object's ob_type is a data word at an 8-byte aligned address
        let python = at_python_types_begin() != 0
        if python && ctx.pointee.world != nil { at_python_names_readable(targets, Int32(nTargets)) }
        let dataAlignment: UInt64 = python ? 7 : 15
        var deadLo: UInt64 = 0, deadHi: UInt64 = 0
        if python { _ = at_python_dead_stack(&deadLo, &deadHi) }
        // the recorder's own static TLS (its caches hold stale addresses): not a root
        var ownTLSOffset: UInt64 = 0, ownTLSSize: UInt64 = 0
        for i in 0..<Int(G.pointee.module_count) {
            let m = at_module_at(UInt32(i))!
            if m.pointee.is_self != 0 && m.pointee.unload_ticks == 0 { ownTLSOffset = m.pointee.tls_offset; ownTLSSize = m.pointee.tls_size }
        }
        let lowest = targets[0], highest = targets[(nTargets - 1) * 2 + 1]
        let sp = at_stack_pointer()
        let world = ctx.pointee.world
        if let w = world { writeRegisters(w, nTargets) }
        SwiftCollections.prepare()
        let (metaLo, metaHi) = SwiftCollections.bounds
        let metaSpan = metaHi &- metaLo
        for ri in 0..<count {
            let region = regions[ri]
            var address = region.start
            // the capturing thread's own stack: only the live part, from here up
            if region.kind == UInt32(AT_REGION_STACK) && sp >= region.start && sp < region.end {
                if !ctx.pointee.ownStack { continue }
                address = sp & ~7
            }
            else if region.kind == UInt32(AT_REGION_STACK), let w = world { address = liveStart(region, w) }
            let blocksHere = region.kind == UInt32(AT_REGION_ANON) || region.kind == UInt32(AT_REGION_HEAP)
            // a TLS region ends at its thread's thread pointer
            let ownLo = region.kind == UInt32(AT_REGION_TLS) && ownTLSOffset != 0 ? region.end &- ownTLSOffset : 0
            let ownHi = ownLo != 0 ? ownLo &+ ownTLSSize : 0
            var heapWords = WordWriter(part: .words, scratch: Writer.scratch, region: ri, start: region.start)
            var dataWords = WordWriter(part: .dataWords, scratch: dataScratch, region: ri, start: region.start)
            var object = SwiftCollections.Object()   // the collection storage the scan is in
            while address < region.end {
                // pages never touched read as zeros: only the span from the first touched page
                // to the last of this chunk is read (touched_pages.c)
                var stop: UInt64 = 0
                let start = at_touched_span(address, address + min(region.end - address, UInt64(readBytes)), &stop)
                if start >= stop { address = stop; continue }
                address = start
                let want = Int(stop - start)
                let got = at_read_memory(address, buffer, want)
                if got < 8 {
                    address = (address + 4096) & ~4095   // unreadable: skip the page
                    continue
                }
                let words = got / 8
                ctx.pointee.scanned &+= UInt64(words * 8)
                let reader = SwiftCollections.Reader(buffer: buffer, start: address, words: words)
                for w in 0..<words {
                    let v = buffer[w]
                    let at = address + UInt64(w * 8)
                    if at &- deadLo < deadHi &- deadLo || at &- ownLo < ownHi &- ownLo { continue }
                    if blocksHere {
                        // a collection's metadata word starts precise scanning of its object
                        if at >= object.end && at & 15 == 0 && v &- metaLo <= metaSpan {
                            let facts = SwiftCollections.lookup(v)
                            if facts != 0 { object.begin(at, facts, reader) }
                        }
                        if at < object.end && !object.keeps(at, reader) { continue }
                    }
                    if v >= lowest && v < highest && inRanges(v, targets, nTargets) {
                        heapWords.add(at, v)
                    } else if blocksHere && at & dataAlignment == 0 && nData > 0 && inRanges(v, dataTargets, nData) {
                        dataWords.add(at, v)
                        if python {
                            at_python_note_data_word(at, v, w > 0 ? buffer[w - 1] : UInt64.max,
                                                     w + 1 < words ? buffer[w + 1] : UInt64.max)
                        }
                    }
                }
                address += UInt64(words * 8)
            }
            heapWords.close()
            dataWords.close()
            ctx.pointee.written &+= heapWords.written
        }
        if python {
            writePythonTypes()
            writePythonFacts()
            if at_python_names_ready() != 0 { writePythonNames() }
        }
    }

    /// A heap_snapshot part of counted entries, split into records as the scratch fills: `part`,
    /// a fixed-width count, entries. The world may be stopped: a plain struct, nothing allocates.
    struct CountedPart {
        let part: HeapSnapshotPartKind
        var r: RecordBuilder
        var n: UInt64 = 0

        init(_ part: HeapSnapshotPartKind) {
            self.part = part
            r = Writer.builder()
            r.part(part)
            _ = r.reserveCount()        // patched when the record is emitted
        }

        /// Room for an entry of up to `bytes`: emits what it holds and starts the next record first
        /// when the scratch is nearly full. True when the caller must start its deltas over.
        mutating func room(_ bytes: Int) -> Bool {
            if r.room >= bytes { return false }
            emit()
            self = CountedPart(part)
            return true
        }

        mutating func emit() {
            guard n > 0 else { return }
            RecordBuilder.patchCount(r.start + 1, n)
            Writer.emit(.heapSnapshot, r)
            n = 0
        }
    }

    /// Part 10: dead built-in objects (free lists) and list lengths (python_types.c).
    static func writePythonFacts() {
        var out = CountedPart(.pythonFacts)
        var previous: UInt64 = 0
        var i: UInt32 = 0
        var object: UInt64 = 0, dead: UInt64 = 0, length: UInt64 = 0
        while at_python_fact(i, &object, &dead, &length) != 0 {
            i += 1
            if out.room(40) { previous = 0 }
            out.r.p = AddressDelta.write(object, against: previous, to: out.r.p)
            out.r.varint(dead)
            out.r.varint(length)
            previous = object
            out.n += 1
        }
        out.emit()
    }

    /// Part 9: the Python type objects the scan met (python_types.c).
    static func writePythonTypes() {
        var out = CountedPart(.pythonTypes)
        var cursor: UInt32 = 0
        var address: UInt64 = 0, flags: UInt64 = 0
        let name = UnsafeMutablePointer<CChar>(OpaquePointer(dataScratch!))
        while true {
            let length = at_python_type_at(&cursor, &address, &flags, name, 256)
            if length < 0 { break }
            _ = out.room(300)
            out.r.varint(address)
            out.r.varint(flags)
            out.r.bytes(name, Int(length))
            out.n += 1
        }
        out.emit()
    }

    @inline(__always)
    static func inRanges(_ v: UInt64, _ ranges: UnsafeMutablePointer<UInt64>, _ n: Int) -> Bool {
        var lo = 0, hi = n
        while lo < hi {
            let mid = (lo + hi) / 2
            if v < ranges[mid * 2] { hi = mid } else if v >= ranges[mid * 2 + 1] { lo = mid + 1 } else { return true }
        }
        return false
    }
}
