import gc

import alloctrace


class MyBigFatObject:
    def __init__(self, i):
        self.index = i
        self.tags = ["big", "fat"]


class Node:
    def __init__(self, name):
        self.name = name
        self.other = None


registry = []
# a dict entry and tuple items, named in chains as ['colors'] and [1]
catalog = {"colors": ["red", "green"]}
pair = (["left"], ["right"])


def fill(n):
    for i in range(n):
        registry.append(MyBigFatObject(i))


def make_cycle():
    a, b = Node("a"), Node("b")
    a.other, b.other = b, a


def settle():
    # calls that reuse the C stack make_cycle ran on: a stale copy of a Node's address left in a
    # frame there would be taken for a reference by the conservative scan of the stack
    return sum(len(str(i)) for i in range(1000))


if __name__ == "__main__":
    gc.disable()
    fill(20000)
    alloctrace.mark("filled")
    del registry[10000:]
    alloctrace.mark("halved")
    make_cycle()
    settle()
    print(len(registry))
