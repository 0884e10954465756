import TraceAnalysis
import TraceReader

/// `alloctrace chains`: for the objects asked for, the shortest chain of owning (strong or plain)
/// references from a root to each, like objgraph's `find_backref_chain`; objects without one are
/// unreachable that way.
public struct ChainsReport: Encodable {
    /// One reference of a chain: `holder` holds `target` through `field`.
    public struct Hop: Encodable {
        /// A root's name (`samples.graphTable`, `stack of thread 2 "worker"`) or the holding object's type.
        public var holder: String
        /// `global`, `stack`, `anonymous` for the root; `object` for a heap block.
        public var holderKind: String
        /// The holding word's address for a root, the object's address otherwise.
        public var holderAddress: String
        /// Where the holder was allocated (objects only).
        public var holderSite: String?
        /// For a global: its module.
        public var holderModule: String?
        /// The property (`items`), the offset (`+0x18`), or for a root the variable itself (empty).
        public var field: String
        /// `strong`, `plain` (a pointer without declared ownership), `unowned`, ...
        public var ownership: String
        public var target: String
        public var targetAddress: String

        enum CodingKeys: String, CodingKey {
            case holder, field, ownership, target
            case holderKind = "holder_kind", holderAddress = "holder_address", holderSite = "holder_site"
            case holderModule = "holder_module", targetAddress = "target_address"
        }
    }

    /// Something that points at an object (any ownership), for the `referrers` list.
    public struct Referrer: Encodable {
        public var holder: String
        public var holderKind: String
        public var holderAddress: String
        public var field: String
        public var ownership: String
        /// For a weak reference: the side table it goes through (its address).
        public var via: String?

        enum CodingKeys: String, CodingKey {
            case holder, field, ownership, via
            case holderKind = "holder_kind", holderAddress = "holder_address"
        }
    }

    public struct Object: Encodable {
        public var address: String
        public var type: String
        public var size: UInt64
        public var site: String
        /// True when a chain of owning references from a root reaches it.
        public var reachable: Bool
        /// True when any chain that keeps things alive (owning or unowned) reaches it: false means leaked.
        public var leaked: Bool
        public var hops: [Hop]
        /// Hops left out of the middle of a chain longer than `ChainsReport.maxHops` (0: none).
        public var hopsElided: Int
        /// Everything that points at the object, weak and unowned references included (at most 20).
        public var referrers: [Referrer]
        public var referrerCount: Int

        enum CodingKeys: String, CodingKey {
            case address, type, size, site, reachable, leaked, hops, referrers
            case referrerCount = "referrer_count", hopsElided = "hops_elided"
        }
    }

    public var trace: String
    public var at: String
    public var snapshot: UInt64
    public var timeNs: Int64
    /// What was asked: `type NAME`, `site FUNCTION`, `address 0x...`.
    public var selection: String
    public var matched: Int
    public var reachableCount: Int
    public var unreachableCount: Int
    public var objects: [Object]

    enum CodingKeys: String, CodingKey {
        case trace, at, snapshot, selection, matched, objects
        case timeNs = "time_ns", reachableCount = "reachable", unreachableCount = "unreachable"
    }

    /// Chains longer than this show their first and last halves.
    public static let maxHops = 200

    /// Chains of the nodes shown (for DOT): each node's path of (holder node or -1 for the root, edge).
    var paths: [(node: Int, root: HeapRoot?, edges: [(source: Int, edge: Int)])] = []

    public init(analysis a: HeapGraphAnalysis, type: String?, site: String?, address: UInt64?, limit: Int) {
        let selected = a.select(type: type, site: site, address: address)
        trace = a.reader.path
        at = a.momentDescription
        snapshot = a.snapshotID
        timeNs = a.timeNs
        selection = type.map { "type \($0)" } ?? site.map { "site \($0)" } ?? address.map { "address " + HeapGraphAnalysis.hex($0) } ?? ""
        matched = selected.count
        let (parent, via, depth) = a.chains
        let g = a.graph

        func chain(_ n: Int) -> (HeapRoot?, [(source: Int, edge: Int)]) {
            var edges: [(Int, Int)] = []
            var v = n
            while parent[v] >= 0 {
                let p = Int(parent[v])
                edges.append((p, a.owning.edge[via[v]]))
                v = p
            }
            guard parent[v] == -2 else { return (nil, []) }
            return (g.roots[via[v]], edges.reversed())
        }

        // reachable ones first, shortest chains first, then by address; chains only for those shown
        reachableCount = selected.filter { depth[$0] >= 0 }.count
        unreachableCount = selected.count - reachableCount
        let picked = selected.sorted { x, y in
            let dx = depth[x] < 0 ? Int32.max : depth[x], dy = depth[y] < 0 ? Int32.max : depth[y]
            return (dx, x) < (dy, y)
        }.prefix(max(limit, 0))
        let entries: [(node: Int, root: HeapRoot?, edges: [(source: Int, edge: Int)])] = picked.map {
            let (r, e) = chain($0)
            return ($0, r, e)
        }
        paths = entries

        // referrers of the shown nodes: one pass over edges and roots
        var shown: [Int: [(holder: Int, edge: Int)]] = [:]
        var rootsOf: [Int: [HeapRoot]] = [:]
        for e in entries { shown[e.node] = [] }
        for s in 0..<g.nodeCount {
            for e in g.edges(of: s) where shown[Int(g.edgeTarget[e])] != nil {
                shown[Int(g.edgeTarget[e])]!.append((s, e))
            }
        }
        for r in g.roots where shown[Int(r.target)] != nil { rootsOf[Int(r.target), default: []].append(r) }
        // a weak reference reaches its object through the object's side table: name the weak
        // reference's holder instead of the side table
        var weakHolders: [Int: [(holder: Int, edge: Int)]] = [:]
        var weakRoots: [Int: [HeapRoot]] = [:]
        for list in shown.values { for (s, _) in list where g.sideTables.contains(Int32(s)) { weakHolders[s] = [] } }
        if !weakHolders.isEmpty {
            for s in 0..<g.nodeCount {
                for e in g.edges(of: s) where g.edgeKind[e] == .weak && weakHolders[Int(g.edgeTarget[e])] != nil {
                    weakHolders[Int(g.edgeTarget[e])]!.append((s, e))
                }
            }
            for r in g.roots where weakHolders[Int(r.target)] != nil { weakRoots[Int(r.target), default: []].append(r) }
        }

        objects = entries.map { entry in
            let n = entry.node
            var hops: [Hop] = []
            var elided = 0
            if let root = entry.root {
                let edges = entry.edges
                let name = a.rootName(root)
                // hop i: from the root (i = 0) or from edges[i - 1]'s holder, to the next object
                func hop(_ i: Int) -> Hop {
                    let target = i < edges.count ? edges[i].source : n
                    let t = (a.typeName(target), HeapGraphAnalysis.hex(g.addresses[target]))
                    if i == 0 {
                        return Hop(holder: name.name, holderKind: name.kind, holderAddress: HeapGraphAnalysis.hex(root.address),
                                   holderSite: nil, holderModule: name.module, field: "", ownership: "strong",
                                   target: t.0, targetAddress: t.1)
                    }
                    let (source, edge) = edges[i - 1]
                    return Hop(holder: a.typeName(source), holderKind: "object", holderAddress: HeapGraphAnalysis.hex(g.addresses[source]),
                               holderSite: a.site(source), holderModule: nil, field: a.field(edge: edge, source: source),
                               ownership: g.edgeKind[edge].name, target: t.0, targetAddress: t.1)
                }
                let count = edges.count + 1
                if count <= ChainsReport.maxHops {
                    hops = (0..<count).map(hop)
                } else {
                    let half = ChainsReport.maxHops / 2
                    hops = (0..<half).map(hop) + ((count - half)..<count).map(hop)
                    elided = count - 2 * half
                }
            }
            var referrers: [Referrer] = []
            for r in rootsOf[n] ?? [] {
                let name = a.rootName(r)
                referrers.append(Referrer(holder: name.name, holderKind: name.kind, holderAddress: HeapGraphAnalysis.hex(r.address),
                                          field: "", ownership: "strong"))
            }
            for (s, e) in shown[n] ?? [] {
                if g.sideTables.contains(Int32(s)) {
                    let table = HeapGraphAnalysis.hex(g.addresses[s])
                    for r in weakRoots[s] ?? [] {
                        let name = a.rootName(r)
                        referrers.append(Referrer(holder: name.name, holderKind: name.kind, holderAddress: HeapGraphAnalysis.hex(r.address),
                                                  field: "", ownership: "weak", via: table))
                    }
                    for (h, he) in weakHolders[s] ?? [] {
                        referrers.append(Referrer(holder: a.typeName(h), holderKind: "object", holderAddress: HeapGraphAnalysis.hex(g.addresses[h]),
                                                  field: a.field(edge: he, source: h), ownership: "weak", via: table))
                    }
                    continue
                }
                referrers.append(Referrer(holder: a.typeName(s), holderKind: "object", holderAddress: HeapGraphAnalysis.hex(g.addresses[s]),
                                          field: a.field(edge: e, source: s), ownership: g.edgeKind[e].name))
            }
            let count = referrers.count
            return Object(address: HeapGraphAnalysis.hex(g.addresses[n]), type: a.typeName(n), size: g.sizes[n], site: a.site(n),
                          reachable: entry.root != nil, leaked: !a.reachable[n], hops: hops, hopsElided: elided,
                          referrers: Array(referrers.prefix(20)), referrerCount: count)
        }
    }

    public func text() -> String {
        var out = "chains at \(at) (snapshot \(snapshot), \(Formatting.seconds(Double(timeNs) / 1e9))), \(selection): "
            + "\(Formatting.count(matched)) objects, \(Formatting.count(reachableCount)) reachable by strong references, "
            + "\(Formatting.count(unreachableCount)) not\n"
        if objects.count < matched { out += "(showing \(objects.count))\n" }
        for o in objects {
            out += "\n\(o.type) \(o.address) (\(Formatting.bytes(o.size))), allocated in \(o.site)\n"
            if o.hops.isEmpty {
                out += o.leaked ? "  unreachable: no chain of references from a root (leaked)\n"
                    : "  no chain of strong references from a root (held only through unowned references)\n"
            } else {
                for (i, h) in o.hops.enumerated() {
                    if o.hopsElided > 0 && i == o.hops.count / 2 {
                        out += "  ... \(Formatting.count(o.hopsElided)) more references ...\n"
                    }
                    if i == 0 {
                        out += "  " + HeapGraphAnalysis.rootLabel(kind: h.holderKind, name: h.holder) + (h.holderModule.map { " (\($0))" } ?? "") + "\n"
                    } else {
                        let via = HeapGraphAnalysis.fieldSuffix(h.field).trimmingPrefixSpace
                        let own = h.ownership == "strong" || h.ownership == "plain" ? "" : " (\(h.ownership))"
                        out += "  -> \(h.holder) \(h.holderAddress) \(via)\(own)   [\(h.holderSite ?? "")]\n"
                    }
                }
                out += "  -> \(o.type) \(o.address)\n"
            }
            let others = o.referrers.filter { !["strong", "plain", "side table"].contains($0.ownership) }
            if !others.isEmpty {
                out += "  also referred to by: " + others.map { r in
                    "\(r.holder)\(HeapGraphAnalysis.fieldSuffix(r.field)) (\(r.ownership)"
                        + (r.via.map { ", through side table \($0)" } ?? "") + ")"
                }.joined(separator: ", ") + "\n"
            }
        }
        return out
    }
}

extension String {
    fileprivate var trimmingPrefixSpace: String { hasPrefix(" ") ? String(dropFirst()) : self }
}
