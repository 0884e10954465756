import threading


def fill_a():
    return [0] * 300_000


def fill_b():
    return [0] * 500_000


kept = []


def worker(fill):
    kept.append(fill())


if __name__ == "__main__":
    threads = [threading.Thread(target=worker, args=(f,), name=f.__name__) for f in (fill_a, fill_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    print(sorted(len(k) for k in kept))
