# gdb commands for alloctrace: `alloctrace types|growth|top|leaks|chains|cycles|retained|summary|marks|mark ...`
#
# Loaded by `alloctrace debug` (gdb -iex "source THIS"); in a gdb attached to a process that already
# runs under `alloctrace record`: (gdb) source $(alloctrace debug --script-path)
#
# At a stop (a breakpoint, ^C), `alloctrace types [OPTIONS]` makes the stopped program take a mark and
# its heap-graph snapshot on the current thread (the recorder's alloctrace_debug_mark, which writes
# and flushes without the writer thread), then runs `alloctrace types TRACE --at MARK OPTIONS` on the
# program's trace and prints its table here. OPTIONS are the analysis command's (--limit, --json, ...).
import os
import shutil
import subprocess

import gdb

AT_MOMENT = {"types", "leaks", "chains", "cycles", "retained"}
WHOLE = {"top", "summary", "marks"}
COMMANDS = sorted(AT_MOMENT | WHOLE | {"growth", "mark"})


def _analyzer(pid):
    """The alloctrace command: $ALLOCTRACE_ANALYZER, else beside the recorder the program preloads, else PATH."""
    explicit = os.environ.get("ALLOCTRACE_ANALYZER")
    if explicit:
        return explicit
    try:
        with open("/proc/%d/maps" % pid) as maps:
            for line in maps:
                path = line.split(None, 5)[-1].strip() if len(line.split(None, 5)) == 6 else ""
                if path.endswith("/libAllocTracePreload.so"):
                    for candidate in (os.path.join(os.path.dirname(path), "alloctrace"),
                                      os.path.join(os.path.dirname(os.path.dirname(path)), "bin", "alloctrace")):
                        if os.access(candidate, os.X_OK):
                            return candidate
    except OSError:
        pass
    found = shutil.which("alloctrace")
    if found:
        return found
    raise gdb.GdbError("alloctrace: cannot find the alloctrace command; set ALLOCTRACE_ANALYZER in gdb's environment")


# the general registers a hand-made call changes; orig_rax after rip (writing rip sets it to -1 so
# that an interrupted system call is not restarted at the new rip; the saved value restarts it)
_REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10", "r11", "r12", "r13",
              "r14", "r15", "eflags", "rsp", "rip", "orig_rax")


def _run_thread_to(thread, address, alone):
    """Resumes `thread` (`alone`: and no other) until it stops at `address`."""
    stop = gdb.Breakpoint("*%d" % address, internal=True)
    stop.thread = thread.num
    stop.silent = True
    old = gdb.parameter("scheduler-locking")
    gdb.execute("set scheduler-locking %s" % ("on" if alone else "off"), to_string=True)
    try:
        for _ in range(1000):
            gdb.execute("continue", to_string=True)
            if not thread.is_valid() or gdb.selected_inferior().pid == 0:
                raise gdb.GdbError("alloctrace: the program ended during the mark")
            if gdb.selected_thread() == thread and int(gdb.newest_frame().pc()) == address:
                return
        raise gdb.GdbError("alloctrace: the mark did not return")
    finally:
        gdb.execute("set scheduler-locking %s" % old, to_string=True)
        stop.delete()


def _call_mark(no_wait):
    """Calls alloctrace_debug_mark(no_wait) on the selected thread and returns its result.

    Not as a gdb inferior call: gdb 13 cannot make one on CPUs with AMX (the kernel refuses its
    short XSAVE-area write, "Couldn't write extended state status"). The recorder's
    alloctrace_debug_call saves and restores the vector registers; this, the general ones."""
    selected = gdb.selected_frame()
    newest = gdb.newest_frame()
    newest.select()
    thread = gdb.selected_thread()
    saved = [(name, int(newest.read_register(name))) for name in _REGISTERS]
    pc = dict(saved)["rip"]
    in_system_call = dict(saved)["orig_rax"] >= 0
    try:
        gdb.execute("set var $rdi = %d" % no_wait, to_string=True)
        gdb.execute("set var $pc = (long)&alloctrace_debug_call", to_string=True)
        _run_thread_to(thread, int(gdb.parse_and_eval("(long)&alloctrace_debug_return")), no_wait != 0)
        result = int(gdb.parse_and_eval("(int)$eax"))
    finally:
        if thread.is_valid():
            thread.switch()
            for name, value in saved:
                gdb.execute("set var $%s = %d" % (name, value), to_string=True)
    if not in_system_call:
        # gdb steps over a breakpoint at the pc it stopped at, and it last stopped at
        # alloctrace_debug_return: stop once more, at the pc itself, before the int3 runs (the
        # user's breakpoints disabled meanwhile, so that none counts a hit or runs its commands)
        enabled = [b for b in gdb.breakpoints() if b.enabled]
        for b in enabled:
            b.enabled = False
        try:
            _run_thread_to(thread, pc, True)
        finally:
            for b in enabled:
                b.enabled = True
    try:
        selected.select()
    except gdb.error:
        pass
    return result


def _take_mark(label):
    """Marks the stopped program now; returns its trace file."""
    inferior = gdb.selected_inferior()
    if inferior.pid == 0:
        raise gdb.GdbError("alloctrace: the program is not running (run or start it first)")
    try:
        address = int(gdb.parse_and_eval("(long)&alloctrace_debug_label"))
    except gdb.error:
        raise gdb.GdbError("alloctrace: the recorder is not loaded in process %d "
                           "(start it with `alloctrace debug` or `alloctrace record`)" % inferior.pid)
    inferior.write_memory(address, label.encode()[:255] + b"\0")
    # every thread stays where it is, the recorder's writer too, while the stopped thread writes
    result = _call_mark(1)
    if result == -2:
        # a stopped thread holds a recorder lock: let the threads run while the mark waits for it
        result = _call_mark(0)
    if result == -1:
        raise gdb.GdbError("alloctrace: process %d is not recording (the recorder is off or its trace ended)" % inferior.pid)
    if result == -3:
        raise gdb.GdbError("alloctrace: the thread is stopped inside the recorder; `finish` out of the allocator first")
    if result < 0:
        raise gdb.GdbError("alloctrace: the mark failed (%d)" % result)
    return os.readlink("/proc/%d/fd/%d" % (inferior.pid, result))


class AllocTrace(gdb.Command):
    """Inspect the heap of the stopped program with alloctrace.

alloctrace types|growth|top|leaks|chains|cycles|retained|summary|marks [OPTIONS]
alloctrace mark [LABEL]

Marks the program now (with its heap graph), then runs the alloctrace analysis command on its
trace at that mark: types, leaks, chains, cycles and retained --at the mark; growth from the
previous `alloctrace` command's mark (or the start) to this one, as objgraph's show_growth;
top, summary and marks over the trace so far. OPTIONS are the command's own (--limit N, --json,
--type T for chains, ...)."""

    def __init__(self):
        super().__init__("alloctrace", gdb.COMMAND_DATA)
        self.count = {}
        self.previous = {}

    def complete(self, text, word):
        return [c for c in COMMANDS if c.startswith(text)]

    def invoke(self, argument, from_tty):
        argv = gdb.string_to_argv(argument)
        if not argv or argv[0] not in COMMANDS:
            raise gdb.GdbError("usage: alloctrace %s [OPTIONS]" % "|".join(COMMANDS))
        sub, rest = argv[0], argv[1:]
        pid = gdb.selected_inferior().pid
        n = self.count.get(pid, 0) + 1
        self.count[pid] = n
        label = rest[0] if sub == "mark" and rest else "gdb-%d" % n
        trace = _take_mark(label)
        previous = self.previous.get(pid)
        self.previous[pid] = label
        if sub == "mark":
            gdb.write("alloctrace: marked \"%s\" in %s\n" % (label, trace))
            return
        command = [_analyzer(pid), sub, trace]
        if sub in AT_MOMENT and "--at" not in rest:
            command += ["--at", label]
        if sub == "growth":
            if "--to" not in rest:
                command += ["--to", label]
            if "--from" not in rest and previous is not None:
                command += ["--from", previous]
        command += rest
        run = subprocess.run(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, universal_newlines=True)
        gdb.write(run.stdout)
        if run.stderr:
            gdb.write(run.stderr, gdb.STDERR)
        if run.returncode != 0:
            raise gdb.GdbError("alloctrace %s failed (exit status %d)" % (sub, run.returncode))


AllocTrace()

# the recorder's mark signal (`alloctrace mark`, --pid) is not the debugger's business
for _signal in ("SIG62",):
    try:
        gdb.execute("handle %s nostop noprint pass" % _signal, to_string=True)
    except gdb.error:
        pass
