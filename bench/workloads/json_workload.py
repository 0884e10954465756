"""json_workload.py - deterministic python3 JSON workload for tracer benchmarks.

Builds nested documents (dicts, lists, strings, ints, floats) from a fixed-seed
generator, serialises them with json.dumps, parses them back with json.loads,
walks the result, and repeats. Run with PYTHONMALLOC=malloc so every object
allocation goes through malloc/free (the tracer sees it), e.g.

    PYTHONMALLOC=malloc python3 json_workload.py [rounds]

Prints one checksum line on stdout; nothing depends on time, hash seeds or
dict iteration order beyond insertion order.
"""
import json
import sys


class Rng:
    """xorshift64*, same as the C workloads, so output is identical everywhere."""

    def __init__(self, seed=0x9E3779B97F4A7C15):
        self.s = seed

    def next(self):
        s = self.s
        s ^= s >> 12
        s ^= (s << 25) & 0xFFFFFFFFFFFFFFFF
        s ^= s >> 27
        self.s = s
        return (s * 0x2545F4914F6CDD1D) & 0xFFFFFFFFFFFFFFFF


WORDS = ["alpha", "bravo", "charlie", "delta", "echo", "foxtrot", "golf", "hotel",
         "india", "juliet", "kilo", "lima", "mike", "november", "oscar", "papa"]


def make_doc(rng, depth):
    r = rng.next()
    kind = r % 6 if depth > 0 else 3 + r % 3
    if kind <= 1:
        return {f"{WORDS[(r >> 8) % 16]}_{i}": make_doc(rng, depth - 1) for i in range(2 + (r >> 16) % 4)}
    if kind == 2:
        return [make_doc(rng, depth - 1) for _ in range(1 + (r >> 16) % 5)]
    if kind == 3:
        return "-".join(WORDS[(r >> (4 * k)) % 16] for k in range(1 + (r >> 40) % 6))
    if kind == 4:
        return (r >> 20) % 1000003
    return ((r >> 11) % 10**9) / 1000.0


def walk(node):
    if isinstance(node, dict):
        return sum(len(k) + walk(v) for k, v in node.items())
    if isinstance(node, list):
        return sum(walk(v) for v in node) + len(node)
    if isinstance(node, str):
        return len(node)
    if isinstance(node, float):
        return int(node)
    return node


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 80
    rng = Rng()
    checksum = 0
    total_bytes = 0
    for _ in range(rounds):
        docs = [make_doc(rng, 7) for _ in range(40)]
        text = json.dumps(docs, sort_keys=True)
        pretty = json.dumps(docs, indent=1)
        total_bytes += len(text) + len(pretty)
        back = json.loads(text)
        again = json.loads(pretty)
        checksum = (checksum * 31 + walk(back) + walk(again)) & 0xFFFFFFFFFFFF
        if back != again:
            raise SystemExit("round trip mismatch")
    print(f"json_workload rounds={rounds} bytes={total_bytes} checksum={checksum}")


if __name__ == "__main__":
    main()
