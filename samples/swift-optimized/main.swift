// sample-swift-optimized: a Swift program built with plain `swiftc -O -g` (by Tests/EndToEndTests/
// UnwindTests.swift, not by SwiftPM, which keeps frame pointers), so its functions keep none,
// allocating 1000 `Payload` objects through three non-inlined functions (level1 -> level2 ->
// level3). The unwinder's end-to-end test records it and compares stacks. Prints "1000".

final class Payload {
    var a = 0
    var b = 0
}

@inline(never) func level3(_ n: Int) -> Payload {
    let p = Payload()
    p.a = n
    return p
}

@inline(never) func level2(_ n: Int) -> Payload {
    let p = level3(n &+ 1)
    p.b = n
    return p
}

@inline(never) func level1(_ n: Int) -> Payload {
    let p = level2(n &* 3)
    p.a &+= 1
    return p
}

var kept: [Payload] = []
kept.reserveCapacity(1000)
for i in 0..<1000 { kept.append(level1(i)) }
print(kept.count)
