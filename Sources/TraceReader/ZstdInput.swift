import CZstd

/// Streaming zstd decompression of a file's body: reads the file in large blocks and yields the
/// decompressed bytes as far as they go. A stream cut mid-frame simply ends (`endedMidFrame`).
final class ZstdInput {
    private let file: FileInput
    private let stream: OpaquePointer
    private let input: UnsafeMutableRawPointer
    private let inputCapacity: Int
    private var inputSize = 0
    private var inputPos = 0
    private var fileEnded = false
    /// zstd's last hint: 0 right after a frame is complete.
    private var lastHint = 0
    /// Compressed bytes consumed so far (after the header).
    private(set) var compressedBytesRead: UInt64 = 0

    static let blockSize = 1 << 20

    init(file: FileInput) throws(TraceError) {
        guard let s = ZSTD_createDStream() else {
            throw .unreadable(path: file.path, reason: "cannot create a zstd decompression stream")
        }
        self.file = file
        self.stream = s
        ZSTD_initDStream(s)
        inputCapacity = ZstdInput.blockSize
        input = UnsafeMutableRawPointer.allocate(byteCount: inputCapacity, alignment: 16)
    }

    deinit {
        ZSTD_freeDStream(stream)
        input.deallocate()
    }

    /// True once all input is consumed and the last frame was not finished: the data was cut short.
    var endedMidFrame: Bool { fileEnded && inputPos == inputSize && lastHint != 0 }

    /// Decompresses into `dst` (`capacity` > 0). Returns the bytes produced; 0 only at the end of the data.
    func decompress(into dst: UnsafeMutableRawPointer, capacity: Int) throws(TraceError) -> Int {
        var out = ZSTD_outBuffer(dst: dst, size: capacity, pos: 0)
        while true {
            if inputPos == inputSize && !fileEnded {
                let n = try file.read(into: input, count: inputCapacity)
                inputSize = n
                inputPos = 0
                compressedBytesRead += UInt64(n)
                if n == 0 { fileEnded = true }
            }
            let before = inputPos
            var inb = ZSTD_inBuffer(src: UnsafeRawPointer(input), size: inputSize, pos: inputPos)
            let ret = ZSTD_decompressStream(stream, &out, &inb)
            inputPos = inb.pos
            if ZSTD_isError(ret) != 0 {
                let name = ZSTD_getErrorName(ret).map { String(cString: $0) } ?? "error \(ret)"
                throw .corrupt(path: file.path, detail: "bad zstd data (\(name))")
            }
            // A call that did nothing (no input left) says nothing about the frame state.
            if inputPos != before || out.pos > 0 { lastHint = ret }
            if out.pos > 0 { return out.pos }
            if fileEnded && inputPos == inputSize { return 0 }
        }
    }
}
