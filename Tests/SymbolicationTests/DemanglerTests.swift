@testable import Symbolication
import XCTest

/// Known manglings and the names frames show for them.
final class DemanglerTests: XCTestCase {
    func testSwiftMethod() {
        let raw = "$s7samples5CacheC6insertyySiF"
        XCTAssertEqual(Demangler.demangle(raw), "samples.Cache.insert(_:)")
        XCTAssertEqual(Demangler.swiftFullName(raw), "samples.Cache.insert(Swift.Int) -> ()")
        XCTAssertTrue(Demangler.isSwiftSymbol(raw))
    }

    func testSwiftNames() {
        let expected: [(String, String)] = [
            // A generic function with a label.
            ("$s7samples7generic_5countSayxGx_SitSHRzlF", "samples.generic<A>(_:count:)"),
            // A stdlib generic method.
            ("$sSa6appendyyxnF", "Swift.Array.append(_:)"),
            ("$s7samples5CacheC5store3key5valueySi_AA5EntryCtF", "samples.Cache.store(key:value:)"),
            ("$s7samples5EntryC3keyACSi_tcfC", "samples.Entry.__allocating_init(key:)"),
            ("$s7samples5CacheC7entriesSDySiAA5EntryCGvg", "samples.Cache.entries.getter"),
            ("$s7samples5CacheC4makeACyFZ", "static samples.Cache.make()"),
            ("$s7samples3BoxV3mapyACyqd__Gqd__xXElF", "samples.Box.map<A>(_:)"),
            ("$s7samples5CacheCAA1PA2aDP1pyyFTW", "protocol witness for samples.P.p() in conformance samples.Cache"),
            ("$sSa7samplesE8firstTwos10ArraySliceVyxGyF", "Swift.Array.firstTwo()"),
            // A closure in top-level code belongs to the module.
            ("$s7samplesSSSiXEfU0_", "closure #2 in samples"),
            ("$sSD20uniqueKeysWithValuesSDyxq_Gqd__n_tcSTRd__x_q_t7ElementRtd__lufcq_q__q_tKXEfU_TA",
             "partial apply for closure #1 in Swift.Dictionary.init<A>(uniqueKeysWithValues:)"),
            // Operators.
            ("$ss2eeoiySbBo_BotF", "Swift.== infix(_:_:)"),
            ("$sSD4KeysV2eeoiySbAByxq__G_ADtFZ", "static Swift.Dictionary.Keys.== infix(_:_:)"),
            // Suffixes after the mangling.
            ("$s7samples3BoxV1vxvM.resume.0", "samples.Box.v.modify"),
        ]
        for (raw, name) in expected {
            XCTAssertEqual(Demangler.demangle(raw), name, raw)
        }
    }

    func testCxx() {
        XCTAssertEqual(Demangler.demangle("_Z3maxIiET_S0_S0_"), "int max<int>(int, int)")
        XCTAssertEqual(Demangler.demangle("_ZNSt6vectorIiSaIiEE9push_backERKi"),
                       "std::vector<int, std::allocator<int> >::push_back(int const&)")
        XCTAssertEqual(Demangler.cxxName("_ZN2ns5outer5innerEv"), "ns::outer::inner()")
        XCTAssertNil(Demangler.cxxName("main"))
    }

    /// Symbols a rustc 1.95 binary holds: v0 manglings, and the legacy form with its hash dropped.
    func testRust() {
        XCTAssertEqual(Demangler.demangle("_RNvMs4_NtCslNYArtu3iFV_5alloc7raw_vecNtB5_11RawVecInner11finish_growCsduwmD7cSIQq_5gimli"),
                       "<alloc::raw_vec::RawVecInner>::finish_grow")
        XCTAssertEqual(Demangler.demangle("_RNvMs3_NtCslNYArtu3iFV_5alloc7raw_vecINtB5_6RawVecNtNtNtCsduwmD7cSIQq_5gimli4read6abbrev12AbbreviationE8grow_oneBS_"),
                       "<alloc::raw_vec::RawVec<gimli::read::abbrev::Abbreviation>>::grow_one")
        XCTAssertEqual(Demangler.demangle("_ZN3std2rt10lang_start17h0123456789abcdefE"), "std::rt::lang_start")
        XCTAssertTrue(Demangler.isRustSymbol("_ZN3std2rt10lang_start17h0123456789abcdefE"))
        XCTAssertFalse(Demangler.isRustSymbol("_ZN2ns5outer5innerEv"))
        // a C++ name is still C++'s, even one that ends like a legacy Rust hash would not
        XCTAssertEqual(Demangler.demangle("_ZN2ns5outer5innerEv"), "ns::outer::inner()")
    }

    func testPlainNames() {
        XCTAssertEqual(Demangler.demangle("main"), "main")
        XCTAssertEqual(Demangler.demangle("__GI_bsearch"), "__GI_bsearch")
        XCTAssertEqual(Demangler.demangle("$"), "$")
        XCTAssertFalse(Demangler.isSwiftSymbol("_Z3fooi"))
        XCTAssertEqual(SymbolTable.stripVersion("memcpy@@GLIBC_2.14"), "memcpy")
        XCTAssertEqual(SymbolTable.stripVersion("memcpy@GLIBC_2.2.5"), "memcpy")
        XCTAssertEqual(SymbolTable.stripVersion("memcpy"), "memcpy")
    }

    /// The runtime's simplified form is what is used on this toolchain; without it the full form is
    /// simplified here, to the same names for ordinary functions.
    func testFallbackSimplifier() {
        XCTAssertTrue(Demangler.hasRuntimeSimplifier)
        let expected: [(String, String)] = [
            ("samples.Cache.insert(Swift.Int) -> ()", "samples.Cache.insert(_:)"),
            ("samples.generic<A where A: Swift.Hashable>(_: A, count: Swift.Int) -> Swift.Array<A>",
             "samples.generic<A>(_:count:)"),
            ("samples.Cache.each((Swift.Int, samples.Entry) throws -> ()) throws -> ()", "samples.Cache.each(_:)"),
            ("samples.A.work(x: inout Swift.Int) async -> ()", "samples.A.work(x:)"),
            ("samples.Cache.entries.getter : Swift.Dictionary<Swift.Int, samples.Entry>",
             "samples.Cache.entries.getter"),
            ("closure #1 (Swift.Int, samples.Entry) -> () in samples.Cache.insert(Swift.Int) -> ()",
             "closure #1 in samples.Cache.insert(_:)"),
            ("generic specialization <Swift.Int> of samples.Box.map<A>((A) -> A1) -> samples.Box<A1>",
             "specialized samples.Box.map<A>(_:)"),
            ("(extension in samples):Swift.Array.firstTwo() -> Swift.ArraySlice<A>", "Swift.Array.firstTwo()"),
            ("Swift._StringGuts.(_foreignGrow in _408A76AB043BD3EFBAB6FAAAAA9B4914)(Swift.Int) -> ()",
             "Swift._StringGuts._foreignGrow(_:)"),
            ("protocol witness for samples.P.p() -> () in conformance samples.Cache : samples.P in samples",
             "protocol witness for samples.P.p() in conformance samples.Cache"),
        ]
        for (full, name) in expected {
            XCTAssertEqual(Demangler.simplify(fullSwiftName: full), name, full)
        }
        // Same answer both ways for the methods above.
        for raw in ["$s7samples5CacheC6insertyySiF", "$s7samples7generic_5countSayxGx_SitSHRzlF",
                    "$s7samples5CacheC4eachyyySi_AA5EntryCtKXEKF", "$s7samples1AC4work1xySiz_tYaF"] {
            let full = Demangler.swiftFullName(raw)!
            XCTAssertEqual(Demangler.simplify(fullSwiftName: full), Demangler.demangle(raw), raw)
        }
    }

    /// The short C++ names of frames and sites (issue 14: `node::::PlatformWorkerThread` lost its
    /// `(anonymous namespace)`).
    func testShortCxxNames() {
        let expected: [(String, String)] = [
            ("_ZN4node12_GLOBAL__N_120PlatformWorkerThreadEPv", "node::(anonymous namespace)::PlatformWorkerThread"),
            ("_ZN12_GLOBAL__N_17throwerEi", "(anonymous namespace)::thrower"),
            ("_ZNSt15__new_allocatorIiE8allocateEmPKv", "std::__new_allocator::allocate"),
            ("_ZN5swift25ConcurrentReadableHashMapIiE6resizeEv", "swift::ConcurrentReadableHashMap::resize"),
            ("_ZNKSt6vectorIiSaIiEE4sizeEv", "std::vector::size"),
            ("_ZStlsISt11char_traitsIcEERSt13basic_ostreamIcT_ES5_PKc", "std::operator<<"),
            ("_ZZ4mainENKUliE_clEi", "main::{lambda#1}::operator()"),
            ("_Znwm", "operator new"),
            ("_ZdlPvm", "operator delete"),
            ("_ZdaPv", "operator delete[]"),
            ("_ZNK3FoocvbEv", "Foo::operator bool"),
            ("_ZN3FooixEi", "Foo::operator[]"),
        ]
        for (raw, short) in expected {
            let full = Demangler.demangle(raw)
            XCTAssertEqual(Demangler.shortCxxName(full), short, full)
        }
    }
}
