import Foundation
import Testing
import TraceFormat

/// Threads, fork and exec all give complete traces with the samples' exact figures.
@Suite struct ProcessTests {
    @Test func fourThreadsWithCrossThreadFrees() throws {
        let dir = try Toolbox.scratch("threads")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-threads"), ["10000"], in: dir)
        #expect(r.status == 0)
        let t = try DecodedTrace(trace)
        #expect(t.summary.complete)
        var live: [UInt64: UInt32] = [:]            // address -> allocating thread
        var crossFrees = 0, unmatched = 0
        for k in 0..<4 {
            let index = try #require(t.thread(named: "worker-\(k)"))
            let mine = t.events.filter { $0.thread == index }
            #expect(t.count(.malloc, in: mine) == 10000)
            #expect(t.count(.free, in: mine) == 10000)
            #expect(t.sizes(.malloc, in: mine).reduce(0, +) == 400_000)
        }
        let workers = Set((0..<4).compactMap { t.thread(named: "worker-\($0)") })
        for e in t.events {
            switch e.kind {
            case .malloc where workers.contains(e.thread): live[e.address] = e.thread
            case .free:
                if let owner = live.removeValue(forKey: e.address) {
                    if owner != e.thread { crossFrees += 1 }
                } else if workers.contains(e.thread) { unmatched += 1 }
            default: break
            }
        }
        #expect(crossFrees == 20000)     // half of each worker's blocks are freed by another worker
        #expect(unmatched == 0)          // the merged order never frees before it allocates
        #expect(live.isEmpty)
    }

    // The JVM's and Rust's new threads first allocate inside pthread_getattr_np, which holds the
    // thread's own lock: the recorder must not call it from its hook (it hung `java -version`).
    @Test func firstAllocationInsidePthreadGetattrDoesNotDeadlock() throws {
        let dir = try Toolbox.scratch("getattr")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-threads"), ["getattr"], in: dir)
        #expect(r.status == 0)
        #expect(r.out == "getattr: ok\n")
        let t = try DecodedTrace(trace)
        #expect(t.summary.complete)
        let main = try #require(t.events.first { $0.thread != 0 && $0.kind != .threadExit }?.thread)   // main's calloc (the DTV)
        let first = try #require(t.events.first { $0.thread != main && $0.thread != 0 && $0.kind != .threadExit })
        // glibc's realloc(NULL, 32) for the affinity mask, under the thread's lock
        #expect(first.kind == .realloc && first.oldAddress == 0 && first.size == 32)
    }

    @Test func forkGivesTheChildItsOwnTrace() throws {
        let dir = try Toolbox.scratch("fork")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-fork"), in: dir)
        #expect(r.status == 0)
        let files = Toolbox.files(in: dir, prefix: "trace.atrace")
        #expect(files.count == 2)
        let parent = try DecodedTrace(trace)
        let childPath = try #require(files.first { $0 != trace })
        let child = try DecodedTrace(childPath)
        #expect(parent.summary.complete && child.summary.complete)
        #expect(child.reader.process?.ppid == parent.reader.process?.pid)
        #expect(childPath.hasSuffix(".\(child.reader.process!.pid)"))
        #expect(child.labels == ["child-start", "child-end"])
        #expect(child.count(.malloc) == 7 && child.sizes(.malloc).allSatisfy { $0 == 200 })
        #expect(child.count(.free) == 4)
        #expect(parent.labels == ["start", "after-wait", "end"])
        let p = parent.between("start", "end")
        #expect(parent.count(.malloc, in: p) == 8)
        #expect(parent.sizes(.malloc, in: p).reduce(0, +) == 18000)
        #expect(parent.count(.free, in: p) == 7)
    }

    @Test func execWritesOneTracePerImage() throws {
        let dir = try Toolbox.scratch("exec")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-exec"), in: dir)
        #expect(r.status == 0)
        let first = try DecodedTrace(trace)
        #expect(first.summary.complete)
        #expect(first.summary.exec != nil && first.summary.end == nil)
        #expect(first.labels == ["phase1-start", "phase1-end"])
        let p1 = first.between("phase1-start", "phase1-end")
        #expect(first.sizes(.malloc, in: p1) == [512, 512, 512, 512])
        #expect(first.count(.free, in: p1) == 1)
        let pid = try #require(first.reader.process?.pid)
        let second = try DecodedTrace(trace + ".\(pid)")
        #expect(second.summary.complete && second.summary.end != nil)
        #expect(second.reader.process?.pid == pid)
        let p2 = second.between("phase2-start", "phase2-end")
        #expect(second.sizes(.malloc, in: p2) == Array(repeating: 2048, count: 6))
        #expect(second.count(.free, in: p2) == 2)
    }
}
