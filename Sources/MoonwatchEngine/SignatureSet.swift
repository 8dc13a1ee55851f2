import MoonwatchCore
import MoonwatchSignatures

/// Which signatures a session runs: compiled from sources (bundled first, then the user's), with
/// parameter overrides, reusing running instances on a reload, and then narrowed by the tuning
/// options (`disable`, `min_severity`).
///
/// Ids are unique. A user file with the id of a bundled signature replaces it (a notice says so);
/// two user files (or two bundled ones) with one id are an error at start-up, and on a reload the
/// later claimant is refused and what was running keeps running.
public enum SignatureSet {
    /// What assembling did, file by file.
    public struct Outcome {
        /// The signatures in effect (enabled or not), in source order.
        public var signatures: [Signature] = []
        public var added: [String] = []
        public var reloaded: [String] = []
        public var unchanged: [String] = []
        public var removed: [String] = []
        /// Files that failed to load; their previous version (if any) keeps running.
        public var failed: [(path: String, reason: String)] = []
        /// Bundled signatures a user file replaced: (id, bundled path, user path).
        public var replaced: [(id: String, bundled: String, by: String)] = []
        public init() {}
    }

    /// Compiles `sources`. A file whose text, parameters and limits did not change keeps its
    /// instance from `previous` (and its `state`); a changed one gets a fresh instance (new state,
    /// counters carried over). With `strict` (start-up), the first failure is thrown; otherwise a
    /// file that fails leaves its previous version in place. Running signatures keep their ids
    /// first (unchanged files, then changed ones in path order), new files come after.
    public static func assemble(_ sources: [SignatureSource], limits: SandboxLimits, params: ParamOverrides = [:],
                                previous: [Signature] = [], strict: Bool) throws(SignatureError) -> Outcome {
        var out = Outcome()
        var old = [String: Signature]()
        for s in previous { old[s.path] = s }
        var owner = [String: (path: String, bundled: Bool)]()   // id -> the file that has it
        var chosen = [String: Signature]()                        // path -> the instance that runs
        var status = [String: Status]()                           // path -> how it got there
        var settled = Set<String>()                               // decided: chosen, replaced or failed
        var failures = [String: String]()

        /// nil when claimed (or when a user file holds the id of a bundled one: the user's runs);
        /// otherwise the path that holds the id.
        func claim(_ sig: Signature, for src: SignatureSource) -> String? {
            settled.insert(src.path)
            if let o = owner[sig.info.id], o.path != src.path {
                if o.bundled && !src.bundled {
                    chosen[o.path] = nil
                    out.replaced.append((sig.info.id, o.path, src.path))
                } else if !o.bundled && src.bundled {
                    out.replaced.append((sig.info.id, src.path, o.path))
                    return nil
                } else {
                    settled.remove(src.path)
                    return o.path
                }
            }
            owner[sig.info.id] = (src.path, src.bundled)
            chosen[src.path] = sig
            return nil
        }
        func isUnchanged(_ s: Signature, _ src: SignatureSource) -> Bool {
            s.sourceText == src.text && s.limits == limits && s.paramOverrides == (params[s.info.id] ?? [:])
        }
        // 1. Unchanged files keep their instance and their id.
        for src in sources {
            if let p = old[src.path], isUnchanged(p, src), claim(p, for: src) == nil { status[src.path] = .unchanged }
        }
        // 2. Changed files, then 3. new ones.
        for pass in [true, false] {
            for src in sources where !settled.contains(src.path) && (old[src.path] != nil) == pass {
                let previous = old[src.path]
                do throws(SignatureError) {
                    let sig = try Signature(source: src, limits: limits, params: params)
                    if let other = claim(sig, for: src) { throw Signature.duplicateID(sig.info.id, in: src, alsoIn: other) }
                    if let previous { sig.carryCounters(from: previous); status[src.path] = .reloaded } else { status[src.path] = .added }
                } catch {
                    if strict { throw error }
                    failures[src.path] = "\(error)"
                    settled.insert(src.path)
                    if let previous, claim(previous, for: src) == nil { continue }
                    if let previous {
                        failures[src.path]! += "; its previous version (id \(previous.info.id)) cannot keep running either"
                    }
                }
            }
        }
        for src in sources {
            if let sig = chosen[src.path] {
                out.signatures.append(sig)
                switch status[src.path] {
                case .unchanged: out.unchanged.append(src.path)
                case .reloaded: out.reloaded.append(src.path)
                case .added: out.added.append(src.path)
                case nil: break
                }
            }
            if let why = failures[src.path] { out.failed.append((src.path, why)) }
            old[src.path] = nil
        }
        out.removed = old.keys.sorted()
        return out
    }

    private enum Status { case unchanged, reloaded, added }

    /// The tuning options applied: a signature is disabled when `disable` names its id or one of
    /// its tags, or its declared severity is below `minSeverity`. `unmatched` lists the names in
    /// `disable` that matched nothing (likely typos).
    public static func select(_ sigs: [Signature], disable: [String], minSeverity: Severity?)
        -> (enabled: [Signature], disabled: [(signature: Signature, reason: String)], unmatched: [String]) {
        var enabled: [Signature] = [], disabled: [(Signature, String)] = []
        var used = Set<String>()
        for s in sigs {
            if disable.contains(s.info.id) {
                used.insert(s.info.id)
                disabled.append((s, "disabled by id"))
            } else if let tag = disable.first(where: { s.info.tags.contains($0) }) {
                for t in disable where s.info.tags.contains(t) { used.insert(t) }
                disabled.append((s, "disabled by tag \(tag)"))
            } else if let min = minSeverity, s.info.severity < min {
                disabled.append((s, "severity \(s.info.severity.rawValue) is below \(min.rawValue)"))
            } else {
                enabled.append(s)
            }
        }
        return (enabled, disabled, disable.filter { !used.contains($0) })
    }
}
