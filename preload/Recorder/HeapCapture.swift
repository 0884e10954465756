import CRecorderSupport
import TraceFormat

/// Heap-graph capture at a mark or at exit (docs/FORMAT.md, heap_snapshot): every word of writable
/// memory that points into the heap, with the regions it lies in. The analyzer, which knows the
/// live blocks at that moment from the events, turns the words into edges and roots.
///
/// While it scans, the capturing thread holds the writer lock and every thread's slot lock: no
/// allocation is recorded and no block is freed (a free runs under its slot lock), so nothing it
/// reads is released under it. Threads that do not allocate keep running; memory is read with
/// process_vm_readv, so a mapping another thread removes meanwhile reads as nothing, not a fault.
enum HeapCapture {
    static let maxRegions = 1 << 16
    static let readBytes = 1 << 20

    nonisolated(unsafe) static var regions: UnsafeMutablePointer<at_region>! = nil
    nonisolated(unsafe) static var targets: UnsafeMutablePointer<UInt64>! = nil   // pairs lo, hi
    nonisolated(unsafe) static var dataTargets: UnsafeMutablePointer<UInt64>! = nil  // pairs lo, hi
    nonisolated(unsafe) static var buffer: UnsafeMutablePointer<UInt64>! = nil
    nonisolated(unsafe) static var dataScratch: UnsafeMutablePointer<UInt8>! = nil

    enum Trigger: UInt8 { case mark = 0, exit = 1, signalMark = 2 }

    /// Captures now. With `writerLockHeld` the caller already holds the writer lock (exit, the
    /// writer's own rounds); otherwise it is taken here. The guard must be set.
    static func capture(_ trigger: Trigger, writerLockHeld: Bool) {
        if regions == nil {
            guard let r = at_map(maxRegions * MemoryLayout<at_region>.stride), let t = at_map(maxRegions * 16),
                  let d = at_map(maxRegions * 16), let b = at_map(readBytes), let ds = at_map(Writer.scratchBytes)
            else { return }
            regions = r.assumingMemoryBound(to: at_region.self)
            targets = t.assumingMemoryBound(to: UInt64.self)
            dataTargets = d.assumingMemoryBound(to: UInt64.self)
            buffer = b.assumingMemoryBound(to: UInt64.self)
            dataScratch = ds.assumingMemoryBound(to: UInt8.self)
        }
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
        let id = UInt64(at_add32(&G.pointee.snapshots, 1))
        let me = T.pointee.state == UInt32(AT_THREAD_INTERNAL) ? 0 : UInt64(T.pointee.slot?.pointee.thread_index ?? 0)
        var begin = Writer.builder()
        begin.byte(0)
        begin.varint(id)
        begin.varint(ticks)
        begin.byte(trigger.rawValue)
        begin.varint(me)
        Writer.emit(.heapSnapshot, begin)
        let count = Int(at_collect_regions(regions, Int32(maxRegions)))
        writeRegions(count)
        var context = ScanContext(count: count, me: me, scanned: 0, written: 0)
        withUnsafeMutablePointer(to: &context) { ctx in
            at_run_spilled({ raw in HeapCapture.scanAll(raw!.assumingMemoryBound(to: HeapCapture.ScanContext.self)) }, ctx)
        }
        var end = Writer.builder()
        end.byte(3)
        end.varint(id)
        end.varint(context.scanned)
        end.varint(context.written)
        end.varint(at_monotonic_ns() &- startNs)
        Writer.emit(.heapSnapshot, end)
        Writer.flush()
    }

    struct ScanContext {
        var count: Int
        var me: UInt64
        var scanned: UInt64
        var written: UInt64
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
            r.byte(1)
            let countAt = r.p
            r.p += 5
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
            patch(countAt, n)
            Writer.emit(.heapSnapshot, r)
        }
    }

    static func patch(_ at: UnsafeMutablePointer<UInt8>, _ value: UInt64) {
        var c = value
        for k in 0..<5 {
            at[k] = UInt8(c & 0x7F) | (k < 4 ? 0x80 : 0)
            c >>= 7
        }
    }

    /// Writes one region's words as `heap_snapshot` parts 2 (pointers into the heap) or 4 (pointers
    /// into module data at 16-byte aligned addresses: C++ vtables, Swift metadata), each in its own
    /// scratch memory so both can be open at once.
    struct WordWriter {
        let part: UInt8
        let scratch: UnsafeMutablePointer<UInt8>
        let region: Int
        let regionStart: UInt64
        var r: RecordBuilder
        var countAt: UnsafeMutablePointer<UInt8>
        var n: UInt64 = 0
        var previous: UInt64 = 0
        var previousTarget: UInt64 = 0
        var written: UInt64 = 0

        init(part: UInt8, scratch: UnsafeMutablePointer<UInt8>, region: Int, start: UInt64) {
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
            r.byte(part)
            r.varint(UInt64(region))
            countAt = r.p
            r.p += 5
            n = 0
            previous = regionStart
            previousTarget = 0
        }

        mutating func close() {
            guard n > 0 else { return }
            patch(countAt, n)
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
        let lowest = targets[0], highest = targets[(nTargets - 1) * 2 + 1]
        let sp = at_stack_pointer()
        for ri in 0..<count {
            let region = regions[ri]
            var address = region.start
            // the capturing thread's own stack: only the live part, from here up
            if region.kind == UInt32(AT_REGION_STACK) && sp >= region.start && sp < region.end { address = sp & ~7 }
            let blocksHere = region.kind == UInt32(AT_REGION_ANON) || region.kind == UInt32(AT_REGION_HEAP)
            var heapWords = WordWriter(part: 2, scratch: Writer.scratch, region: ri, start: region.start)
            var dataWords = WordWriter(part: 4, scratch: dataScratch, region: ri, start: region.start)
            while address < region.end {
                let want = Int(min(region.end - address, UInt64(readBytes)))
                let got = at_read_memory(address, buffer, want)
                if got < 8 {
                    address = (address + 4096) & ~4095   // unreadable: skip the page
                    continue
                }
                let words = got / 8
                ctx.pointee.scanned &+= UInt64(words * 8)
                for w in 0..<words {
                    let v = buffer[w]
                    let at = address + UInt64(w * 8)
                    if v >= lowest && v < highest && inRanges(v, targets, nTargets) {
                        heapWords.add(at, v)
                    } else if blocksHere && at & 15 == 0 && nData > 0 && inRanges(v, dataTargets, nData) {
                        dataWords.add(at, v)
                    }
                }
                address += UInt64(words * 8)
            }
            heapWords.close()
            dataWords.close()
            ctx.pointee.written &+= heapWords.written
        }
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
