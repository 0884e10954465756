// `samples cache [N]` (default N = 1000): N calls of `Cache.insert(_:)` with keys 0..<N.
//
// Marks: "start" before the Cache is created, "end" after the last insert.
// Exact instance counts:
//   samples.Cache: 1 allocated (in runCache), live at exit.
//   samples.Entry: N allocated, all in Cache.insert(_:) on the line tagged
//                  `alloctrace-sample: entry-alloc`; none freed (keys are distinct); N live at exit.
//   Swift._DictionaryStorage<Swift.Int, samples.Entry>: one allocated per growth of the dictionary,
//                  all in Cache.insert(_:) on the line tagged `alloctrace-sample: dictionary-store`;
//                  each growth frees the previous storage. The count is printed as
//                  `dictionary_storages`; the growth sequence of capacities is 1, 3, 6, 12, 24, 48,
//                  96, 192, 384, 768, 1536, ... (buckets 2, 4, 8, ...; the empty dictionary uses a
//                  static singleton). N = 1000: 11 storages allocated, 10 freed, 1 live (capacity 1536).
// Tests find the tagged lines' numbers by searching this file for the tags.
// stdout (N = 1000):
//   cache: inserts=1000 entries=1000 dictionary_storages=11 dictionary_capacity=1536 value_sum=15484500

import AllocTraceMarks

/// A map from key to Entry; `insert(_:)` is the allocation site the line-level tests look at.
final class Cache {
    /// The entries by key.
    var entries: [Int: Entry] = [:]

    /// Stores a new Entry for `key` (value key * 31).
    @inline(never)
    func insert(_ key: Int) {
        let entry = Entry(key: key, value: key &* 31) // alloctrace-sample: entry-alloc
        entries[key] = entry // alloctrace-sample: dictionary-store
    }
}

/// The cache, alive until exit.
nonisolated(unsafe) var sampleCache: Cache?

/// Runs the `cache` scenario.
@inline(never)
func runCache(insertCount: Int) {
    AllocTrace.mark("start")
    let cache = Cache()
    sampleCache = cache
    var storages = 0
    for key in 0..<insertCount {
        let before = cache.entries.capacity
        cache.insert(key)
        if cache.entries.capacity != before { storages += 1 }
    }
    AllocTrace.mark("end")

    var valueSum = 0
    for (_, entry) in cache.entries { valueSum &+= entry.value }
    print("cache: inserts=\(insertCount) entries=\(cache.entries.count) dictionary_storages=\(storages)"
        + " dictionary_capacity=\(cache.entries.capacity) value_sum=\(valueSum)")
}
