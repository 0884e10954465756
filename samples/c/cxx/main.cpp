// sample-cxx: C++ allocations (operator new/delete of classes with a vtable, exceptions,
// std::vector, std::string) with libstdc++ (GCC 12's, as on Debian 12).
//
// Between the marks "start" and "end", all through malloc/free (operator new calls malloc,
// operator delete calls free, __cxa_allocate_exception calls malloc):
//   shapes_round:     10 x new Circle/Square (16 bytes each: vptr + long) = 10 x malloc(16);
//                     10 x delete = 10 frees                                       (160 bytes)
//   vector_round:     std::vector<int> with 100 push_back: capacity doubles 1,2,...,128:
//                     8 x malloc of 4,8,16,32,64,128,256,512 bytes; 7 frees while growing and
//                     1 when the vector goes                                       (1020 bytes)
//   exceptions_round: 100 x throw Boom{i} / catch: each throw is one malloc(132) (libstdc++'s
//                     128-byte exception header + sizeof(Boom) = 4), freed at the end of its
//                     catch: 100 mallocs, 100 frees                                (13200 bytes)
//   string_round:     a 28-char std::string: malloc(29); appending to 57 chars: malloc(58)
//                     (new capacity max(2 * 28, 57) = 57) and free of the 29; free of the 58 at
//                     scope end: 2 mallocs, 2 frees                                (87 bytes)
//   Expected: malloc=120 (no other entry point) bytes_allocated=14467 free=120
//             leaked_blocks=0 leaked_bytes=0 peak_bytes=768 (during the vector's last growth:
//             the 256-byte and the 512-byte buffers)
// Outside the marks: libstdc++ allocates its exception emergency pool, malloc(72704), while the
// libraries are initialised (before any LD_PRELOAD constructor runs), never freed; std::cout's
// first output allocates the stdout buffer after "end" (one malloc of stdout's st_blksize: 4096 for
// a pipe or a regular file), never freed.
// stdout, the same with or without a malloc interposer preloaded; exit status 0:
//   cxx: area_sum=715 vector_sum=4950 caught=100 string_length=57
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>
#include <unistd.h>

#include "alloctrace.h"

#if defined(__clang__)
#define NOINLINE __attribute__((noinline, disable_tail_calls))
#else
#define NOINLINE __attribute__((noinline, noipa))
#endif

namespace {

class Shape {
public:
    virtual ~Shape() = default;
    virtual long area() const = 0;
    virtual const char *name() const = 0;
};

class Square final : public Shape {
public:
    explicit Square(long side) : side_(side) {}
    long area() const override { return side_ * side_; }
    const char *name() const override { return "square"; }
private:
    long side_;
};

class Circle final : public Shape {
public:
    explicit Circle(long radius) : radius_(radius) {}
    long area() const override { return 3 * radius_ * radius_; } // integer "pi" keeps it exact
    const char *name() const override { return "circle"; }
private:
    long radius_;
};

struct Boom {
    int code;
};

Shape *volatile shapes[10];

NOINLINE Shape *make_shape(int i) {
    if (i % 2 == 0) return new Circle(i + 1);
    return new Square(i + 1);
}

NOINLINE long shapes_round() {
    for (int i = 0; i < 10; i++) shapes[i] = make_shape(i);
    long sum = 0;
    for (int i = 0; i < 10; i++) sum += shapes[i]->area();
    for (int i = 0; i < 10; i++) { delete shapes[i]; shapes[i] = nullptr; }
    return sum;
}

NOINLINE long sum_ints(const int *data, size_t n) {
    long s = 0;
    for (size_t i = 0; i < n; i++) s += data[i];
    return s;
}

NOINLINE long vector_round() {
    std::vector<int> v;
    for (int i = 0; i < 100; i++) v.push_back(i);
    return sum_ints(v.data(), v.size());
}

NOINLINE size_t keep_string(const std::string &s) { return s.size(); }

NOINLINE size_t string_round() {
    std::string s = "alloctrace samples: a string";   // 28 chars: heap (SSO holds 15)
    s += " that grows past its capacity";             // 57 chars: grows to a new buffer
    return keep_string(s);
}

NOINLINE void thrower(int i) {
    throw Boom{i};
}

NOINLINE long exceptions_round(int count) {
    long caught = 0;
    for (int i = 0; i < count; i++) {
        try {
            thrower(i);
        } catch (const Boom &b) {
            caught += b.code == i ? 1 : 0;
        }
    }
    return caught;
}

} // namespace

int main() {
    ALLOCTRACE_MARK("start");
    long area = shapes_round();
    long vsum = vector_round();
    long caught = exceptions_round(100);
    size_t slen = string_round();
    ALLOCTRACE_MARK("end");

    // objects alive at a mark, for `types` to name by their dynamic (vtable) type:
    // 3 Circles and 2 Squares live at "shapes", deleted right after
    static Shape *kept[5];
    for (int i = 0; i < 3; i++) kept[i] = new Circle(i + 1);
    for (int i = 3; i < 5; i++) kept[i] = new Square(i);
    ALLOCTRACE_MARK("shapes");
    static volatile long kept_area = 0;
    for (Shape *shape : kept) {
        kept_area += shape->area();
        delete shape;
    }

    std::cout << "cxx: area_sum=" << area << " vector_sum=" << vsum << " caught=" << caught
              << " string_length=" << slen << std::endl;
    return 0;
}
