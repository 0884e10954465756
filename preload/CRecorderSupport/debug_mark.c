/* For a debugger: `alloctrace debug` (analyzer/gdb/alloctrace.py) writes a mark's label here with
 * its own memory writes (a string argument to an inferior call would make gdb malloc in the
 * program) and calls alloctrace_debug_mark (preload/Recorder/DebugMark.swift). */
#include "recorder_support.h"

__attribute__((visibility("default"))) char alloctrace_debug_label[256];

const char *at_debug_label(void) {
    alloctrace_debug_label[sizeof alloctrace_debug_label - 1] = 0;
    return alloctrace_debug_label;
}

/* gdb 13 cannot make an inferior call on a CPU whose XSAVE area is larger than it knows (AMX: the
 * kernel refuses its short register writes with EFAULT, "Couldn't write extended state status"),
 * and writing general registers is all a call needs. So the gdb commands call the mark by hand:
 * they save the general registers, point rip here with rdi = no_wait, run to
 * alloctrace_debug_return, read eax and put the registers back. The vector, x87 and mask registers
 * the mark's C and Swift code may change are saved and restored here, below the red zone. */
#if defined(__x86_64__)
__asm__(
    ".text\n"
    ".globl alloctrace_debug_call\n"
    ".type alloctrace_debug_call,@function\n"
    "alloctrace_debug_call:\n"
    "    sub $128, %rsp\n"                 /* the interrupted function's red zone */
    "    cld\n"                           /* a breakpoint may stop a thread with the direction flag set */
    "    and $-64, %rsp\n"
    "    mov %rdi, %r12\n"
    "    mov $1, %eax\n"
    "    cpuid\n"
    "    mov $512, %ebx\n"
    "    xor %r14d, %r14d\n"
    "    and $0x0c000000, %ecx\n"          /* XSAVE and OSXSAVE */
    "    cmp $0x0c000000, %ecx\n"
    "    jne 1f\n"
    "    mov $1, %r14d\n"
    "    mov $0xd, %eax\n"
    "    xor %ecx, %ecx\n"
    "    cpuid\n"                          /* ebx: the area's size for what XCR0 enables */
    "1:  sub %rbx, %rsp\n"
    "    and $-64, %rsp\n"
    "    mov %rsp, %r13\n"
    "    test %r14d, %r14d\n"
    "    jz 2f\n"
    "    xor %eax, %eax\n"                 /* XRSTOR faults on a header with reserved bits set */
    "    mov $8, %ecx\n"
    "    lea 512(%r13), %rdi\n"
    "    rep stosq\n"
    "    mov $-1, %eax\n"
    "    mov $-1, %edx\n"
    "    xsave64 (%r13)\n"
    "    jmp 3f\n"
    "2:  fxsave64 (%r13)\n"
    "3:  mov %r12, %rdi\n"
    "    call alloctrace_debug_mark@PLT\n"
    "    mov %eax, %r12d\n"
    "    test %r14d, %r14d\n"
    "    jz 4f\n"
    "    mov $-1, %eax\n"
    "    mov $-1, %edx\n"
    "    xrstor64 (%r13)\n"
    "    jmp 5f\n"
    "4:  fxrstor64 (%r13)\n"
    "5:  mov %r12d, %eax\n"
    ".globl alloctrace_debug_return\n"
    "alloctrace_debug_return:\n"
    "    nop\n"
    "    ud2\n"                            /* never reached: the debugger stops at the nop */
    ".size alloctrace_debug_call, .-alloctrace_debug_call\n");
#endif
