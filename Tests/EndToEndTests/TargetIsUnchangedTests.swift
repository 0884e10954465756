import Foundation
import Testing

/// Under the recorder a program prints the same bytes and exits with the same status.
@Suite struct TargetIsUnchangedTests {
    func compare(_ program: String, _ args: [String], file: String = #fileID) throws {
        let dir = try Toolbox.scratch("same")
        let plain = try Toolbox.run(program, args, cwd: dir)
        let (traced, trace) = try Toolbox.record(program, args, in: dir)
        #expect(traced.stdout == plain.stdout, "stdout differs for \(program) \(args)")
        #expect(traced.status == plain.status)
        #expect(FileManager.default.fileExists(atPath: trace))
        let decoded = try DecodedTrace(trace)
        #expect(decoded.summary.complete)
        #expect(decoded.count(.malloc) > 0)
    }

    // `ls -la /` as the issue asks, but /tmp's time stamp moves while tests run: /usr stays put
    @Test func lsOutputIsIdentical() throws {
        try compare("/bin/ls", ["-la", "/usr"])
    }

    @Test func pythonOutputIsIdentical() throws {
        let python = ["/usr/bin/python3", "/usr/local/bin/python3"].first { FileManager.default.isExecutableFile(atPath: $0) }
        try #require(python != nil, "python3 is on every machine of this project")
        try compare(python!, ["-c", "print(sum(range(10**6)))"])
    }

    @Test func cxxExceptionsWork() throws {
        let dir = try Toolbox.scratch("cxx")
        let (r, trace) = try Toolbox.record(Toolbox.bin("sample-cxx"), in: dir)
        #expect(r.status == 0)
        #expect(r.out == "cxx: area_sum=715 vector_sum=4950 caught=100 string_length=57\n")
        let t = try DecodedTrace(trace)
        let measured = t.between("start", "end")
        // 10 news, 8 vector buffers, 100 exception objects, 2 strings (samples/README.md)
        #expect(t.count(.malloc, in: measured) == 120)
        #expect(t.count(.free, in: measured) == 120)
        #expect(t.sizes(.malloc, in: measured).reduce(0, +) == 14467)
    }

    @Test func exitStatusAndSignalDeathPassThrough() throws {
        let dir = try Toolbox.scratch("status")
        let (exited, _) = try Toolbox.record("/bin/sh", ["-c", "exit 7"], in: dir)
        #expect(exited.status == 7)
        let (killed, _) = try Toolbox.record("/bin/sh", ["-c", "kill -SEGV $$"], in: dir + "/..")
        #expect(killed.status == 128 + 11)
    }

    @Test func stdinPassesThrough() throws {
        let dir = try Toolbox.scratch("stdin")
        let input = dir + "/input.txt"
        try "hello through the recorder\n".write(toFile: input, atomically: true, encoding: .utf8)
        let r = try Toolbox.run("/bin/sh", ["-c", "'\(Toolbox.alloctrace)' record -q -o '\(dir)/t.atrace' -- /bin/cat < '\(input)'"])
        #expect(r.out == "hello through the recorder\n")
        #expect(r.status == 0)
    }
}
