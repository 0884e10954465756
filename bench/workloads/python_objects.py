# one million Python objects: 250,000 instances, each with a list, an int and a one-key dict
import alloctrace


class Item:
    def __init__(self, i):
        self.index = i + 1000
        self.tags = [i]
        self.extra = {"k": i}


items = [Item(i) for i in range(250_000)]
alloctrace.mark("built")
print(len(items))
