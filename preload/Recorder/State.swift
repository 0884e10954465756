import CRecorderSupport

// The recorder's state lives in C (recorder_support.h): a Swift global would be reached through
// lazy initialisers and exclusivity checks, both runtime calls that must not run inside malloc.

/// The process-wide recorder state.
@inline(__always) var G: UnsafeMutablePointer<at_globals> { at_gp() }

/// This thread's recorder state.
@inline(__always) var T: UnsafeMutablePointer<at_tls> { at_thread() }

let bufferBytes = Int(AT_BUFFER_BYTES)
let eventMaxBytes = Int(AT_EVENT_MAX_BYTES)
let maxFrames = Int(AT_MAX_FRAMES)
let maxSlots = Int(AT_MAX_SLOTS)
let maxModules = Int(AT_MAX_MODULES)
let maxPendingMarks = UInt32(AT_MAX_PENDING_MARKS)
let pathMax = Int(AT_PATH_MAX)

/// What the recorder knows of the process's Python interpreter (python_frames.c).
@inline(__always) var PY: UnsafeMutablePointer<at_python> { at_pyp() }
