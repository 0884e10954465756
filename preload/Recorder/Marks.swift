import CRecorderSupport
import Glibc

/// Marks requested from outside the process: `alloctrace mark PID [LABEL]` leaves the label in a
/// private file and sends the mark signal; the handler only notes the moment.
enum Marks {
    static func writeSignalMark(ticks: UInt64) {
        var path = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        var label = (UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                     UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                     UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0),
                     UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &path) { pathBytes in
            withUnsafeMutableBytes(of: &label) { labelBytes in
                let p = pathBytes.baseAddress!.assumingMemoryBound(to: CChar.self)
                let l = labelBytes.baseAddress!.assumingMemoryBound(to: CChar.self)
                labelFilePath(into: p, capacity: pathBytes.count)
                var n = 0
                let fd = open(p, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
                if fd >= 0 {
                    var st = stat()
                    if fstat(fd, &st) == 0 && st.st_uid == getuid() {
                        let r = read(fd, l, 255)
                        n = r > 0 ? r : 0
                        while n > 0 && (l[n - 1] == 10 || l[n - 1] == 0) { n -= 1 }
                        unlink(p)
                    }
                    close(fd)
                }
                if n == 0 {
                    let fallback: StaticString = "signal"
                    fallback.withUTF8Buffer { b in
                        UnsafeMutableRawPointer(l).copyMemory(from: b.baseAddress!, byteCount: b.count)
                        n = b.count
                    }
                }
                Writer.recorderEvent(.mark, ticks: ticks, value: 0, label: l, labelLength: n)
            }
        }
    }

    /// `/tmp/alloctrace-mark.<pid>`: `alloctrace mark` writes the label there before signalling.
    static func labelFilePath(into p: UnsafeMutablePointer<CChar>, capacity: Int) {
        let prefix: StaticString = "/tmp/alloctrace-mark."
        var i = 0
        prefix.withUTF8Buffer { b in
            for c in b { p[i] = CChar(bitPattern: c); i += 1 }
        }
        var digits = (UInt64(0), UInt64(0), UInt64(0))
        withUnsafeMutableBytes(of: &digits) { d in
            var v = Int(getpid())
            var n = 0
            repeat { d[n] = UInt8(48 + v % 10); v /= 10; n += 1 } while v > 0
            while n > 0 { n -= 1; p[i] = CChar(bitPattern: d[n]); i += 1 }
        }
        p[i] = 0
    }
}

@_cdecl("alloctrace_signal_mark")
public func alloctraceSignalMark() {
    // the moment first, then the count the writer reads
    let i = at_load32(&G.pointee.pending_marks)
    if let ticks = G.pointee.mark_ticks { at_store64(ticks + Int(i % maxPendingMarks), at_ticks()) }
    _ = at_add32(&G.pointee.pending_marks, 1)
    BufferPool.wakeWriter()
}
