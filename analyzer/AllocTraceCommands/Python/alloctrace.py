"""Marks for alloctrace from Python programs.

    import alloctrace
    alloctrace.mark("loaded")

Under `alloctrace record` (which puts this module on PYTHONPATH) a mark names a moment of the
trace, as ALLOCTRACE_MARK does in C: `alloctrace growth TRACE --from loaded --to end`. Without the
recorder every function here does nothing. No dependency beyond the standard library.
"""

import ctypes

__all__ = ["mark", "active"]


def _recorder_mark():
    try:
        function = ctypes.CDLL(None).alloctrace_mark
    except (OSError, AttributeError):
        return None
    function.argtypes = [ctypes.c_char_p]
    function.restype = None
    return function


_mark = _recorder_mark()


def active():
    """True when the program runs under the alloctrace recorder."""
    return _mark is not None


def mark(label=""):
    """Marks this moment with `label` (at most 255 bytes of UTF-8); a heap-graph snapshot follows."""
    if _mark is not None:
        _mark(str(label).encode("utf-8")[:255])
