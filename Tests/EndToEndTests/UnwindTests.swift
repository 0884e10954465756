import Foundation
import Testing

/// The default unwinder (call-frame information from .eh_frame) records the same stacks as
/// libunwind, through code that keeps no frame pointers.
@Suite struct UnwindTests {
    /// samples/swift-optimized built with plain `swiftc -O -g`: SwiftPM passes -fno-omit-frame-pointer
    /// to every Swift target, plain swiftc keeps no frame pointers in -O code (and without -g it
    /// writes no call-frame information for such functions: nothing, libunwind included, unwinds them).
    static let optimizedSample: Result<String, Error> = Result {
        let dir = try Toolbox.scratch("swift-optimized")
        let candidates = ["/opt/swift/usr/bin/swiftc", "/usr/bin/swiftc"] +
            (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map { "\($0)/swiftc" }
        guard let swiftc = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            throw CocoaError(.fileNoSuchFile)
        }
        let exe = dir + "/sample-swift-optimized"
        let r = try Toolbox.run(swiftc, ["-O", "-g", "-module-name", "sample_swift_optimized", "-module-cache-path", dir + "/mc",
                                         "-o", exe, Toolbox.sourceRoot + "/samples/swift-optimized/main.swift"])
        guard r.status == 0 else { throw CocoaError(.executableLoad, userInfo: [NSLocalizedDescriptionKey: r.stderr]) }
        return exe
    }

    func json(_ args: [String]) throws -> [String: Any] {
        let r = try Toolbox.run(Toolbox.alloctrace, args + ["--json"])
        try #require(r.status == 0, "alloctrace \(args) failed: \(r.stderr)")
        return try #require(JSONSerialization.jsonObject(with: r.stdout) as? [String: Any])
    }

    /// The symbolized stack of the site allocating the 1000 Payloads.
    func payloadStack(unwind: String) throws -> [String] {
        let dir = try Toolbox.scratch("unwind-\(unwind)")
        let (r, trace) = try Toolbox.record(try Self.optimizedSample.get(), in: dir, options: ["--unwind", unwind])
        try #require(r.status == 0 && r.out == "1000\n", "sample failed: \(r.stderr)")
        let t = try json(["top", trace, "--by", "allocations", "--limit", "1"])
        let first = try #require((t["rows"] as? [[String: Any]])?.first)
        #expect((first["allocations"] as? NSNumber)?.intValue == 1000)
        return first["stack"] as? [String] ?? []
    }

    @Test func stacksThroughSwiftOptimizedCodeEqualLibunwinds() throws {
        let auto = try payloadStack(unwind: "auto")
        let reference = try payloadStack(unwind: "libunwind")
        #expect(auto == reference)
        // the frames of the -O code (no frame pointers) are all there, in order
        let names = auto.map { $0.components(separatedBy: " at ").first ?? $0 }
        let chain = ["level3", "level2", "level1"].map { f in names.firstIndex { $0.contains("sample_swift_optimized.\(f)(") } }
        #expect(chain.allSatisfy { $0 != nil }, "\(auto)")
        if let a = chain[0], let b = chain[1], let c = chain[2] { #expect(a < b && b < c) }
    }

    @Test func verifyModeFindsNoDisagreement() throws {
        let dir = try Toolbox.scratch("unwind-verify")
        let (r, _) = try Toolbox.record(try Self.optimizedSample.get(), in: dir, options: ["--unwind", "verify"])
        #expect(r.status == 0)
        let report = try #require(r.stderr.split(separator: "\n").first { $0.contains("unwind verify") }, "\(r.stderr)")
        #expect(report.hasSuffix(" 0 mismatches"), "\(r.stderr)")
        // and it compared: only a thread's first stack, before its bounds are known, goes to libunwind
        let numbers = report.split(separator: ":").last!.split(separator: ",").map { Int($0.split(separator: " ").first ?? "") ?? -1 }
        #expect(numbers.count == 3 && numbers[0] >= 1000 && numbers[1] >= 0 && numbers[1] <= 2, "\(report)")
    }
}
