# Compiles and runs 200 generated sources gen0.py ... gen199.py, one after the other, each freed
# before the next: a new code object (with its name, file and line table) often lands where a
# freed one was. Each source allocates one bytes object at module level and one in f, of sizes
# no other line allocates, on lines that move with i % 3 (the line tables differ, and f's first
# line too); sources with the same i % 3 differ only in their file name and sizes.
import gc

for i in range(200):
    src = ("\n" * (i % 3)
           + "x = b'x' * %d\n" % (200000 + 16 * i)
           + "def f():\n    return b'y' * %d\n" % (300000 + 16 * i)
           + "y = f()\n")
    code = compile(src, "gen%d.py" % i, "exec")
    exec(code, {})
    del code
    gc.collect()
print("ran 200")
