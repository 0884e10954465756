#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#endif

/// The labels of mark events in decoding order; `TraceEvent.labelIndex` indexes them. Decoding may
/// run on a replay's reading thread while the caller's thread reads labels: a lock guards them.
final class MarkLabels: @unchecked Sendable {
    private var list: [String] = []
    private let lock = Lock()

    /// Adds a label; returns its index.
    @inline(never)
    func add(_ utf8: UnsafeBufferPointer<UInt8>) throws(EventError) -> UInt32 {
        let label = String(decoding: utf8, as: UTF8.self)
        let index: Int? = lock.locked {
            guard list.count < Int(UInt32.max) else { return nil }
            list.append(label)
            return list.count - 1
        }
        guard let index else { throw .impossible("more than 2^32 marks") }
        return UInt32(index)
    }

    /// The labels so far.
    var strings: [String] { lock.locked { list } }

    /// The label with this index, if it is known.
    func label(_ index: Int) -> String? {
        lock.locked { index < list.count ? list[index] : nil }
    }

    func removeAll() { lock.locked { list = [] } }
}

/// A pthread mutex at a stable address.
final class Lock: @unchecked Sendable {
    let mutex: UnsafeMutablePointer<pthread_mutex_t>

    init() {
        mutex = .allocate(capacity: 1)
        pthread_mutex_init(mutex, nil)
    }

    deinit {
        pthread_mutex_destroy(mutex)
        mutex.deallocate()
    }

    @inline(__always) func lock() { pthread_mutex_lock(mutex) }
    @inline(__always) func unlock() { pthread_mutex_unlock(mutex) }

    @inline(__always)
    func locked<T>(_ body: () throws -> T) rethrows -> T {
        pthread_mutex_lock(mutex)
        defer { pthread_mutex_unlock(mutex) }
        return try body()
    }
}

/// A pthread condition variable at a stable address, used with a `Lock`.
final class Condition: @unchecked Sendable {
    private let cond: UnsafeMutablePointer<pthread_cond_t>

    init() {
        cond = .allocate(capacity: 1)
        pthread_cond_init(cond, nil)
    }

    deinit {
        pthread_cond_destroy(cond)
        cond.deallocate()
    }

    /// Waits (the lock held) until signalled; may wake spuriously.
    func wait(_ lock: Lock) { pthread_cond_wait(cond, lock.mutex) }
    func signal() { pthread_cond_signal(cond) }
}
