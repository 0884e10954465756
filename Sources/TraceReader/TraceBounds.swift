/// What a trace can hold: the one place that bounds the tables a reader or an analysis sizes from
/// values read in the trace, so that a crafted value fails as damage instead of asking for
/// gigabytes (or trapping).
public enum TraceBounds {
    /// Ids below this are always accepted (a few MiB of table at most).
    public static let idFloor: UInt64 = 1 << 16

    /// The largest thread index or stack node id a trace can be using after `bytes` bytes of
    /// records. Both are handed out one by one from 1 (docs/FORMAT.md), and each costs the trace at
    /// least a byte of records before it is used (a thread's `thread` record and chunks, a stack's
    /// `stack_nodes` entry): an id far above the bytes read so far is damage.
    public static func largestID(afterBytes bytes: UInt64) -> UInt32 {
        let (sum, overflow) = idFloor.addingReportingOverflow(bytes)
        return overflow ? .max : UInt32(clamping: sum)
    }
}
