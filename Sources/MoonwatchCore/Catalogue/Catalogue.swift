/// Index of an event in the catalogue. Routing tables are arrays indexed by it.
public struct EventKind: Hashable, Sendable, Comparable, CustomStringConvertible {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public var index: Int { Int(rawValue) }
    public var spec: EventSpec { Catalogue.events[index] }
    public var name: String { Catalogue.events[index].name }
    public var description: String { name }
    public static func < (a: EventKind, b: EventKind) -> Bool { a.rawValue < b.rawValue }
}

/// Notes several catalogue files share.
enum SharedNotes {
    /// What becomes of a user-memory argument the probe could not read at entry.
    static let entryFault = """
        Entry-time reads cannot fault pages in, so user memory that is not resident when the call \
        starts (never touched since the process began, or swapped out) cannot be read then. moonwatch reads \
        such an argument again at exit, once the kernel has faulted the memory in by using it, reports that \
        read as the value and names the argument in late. The value is then what the memory held when the \
        call returned, and with no entry read to compare the argument never appears in changed. If the exit \
        read fails too, the argument is missing.
        """

    /// The io_uring request that does what the event's system call does, and how it is reported.
    static func ioUring(_ request: String, _ more: String = "") -> String {
        """
        The same operation submitted as an io_uring request (\(request)) makes no system call. moonwatch \
        captures it from io_uring's tracepoints and reports it as this event with via = "io_uring": the \
        process is the submitter, time and ret are the completion's, a descriptor argument is the one the \
        request named (-1 for a fixed-file index), and process.compat is false.\(more.isEmpty ? "" : " " + more)
        """
    }
    static let ioUringPath = """
        pathname is then the kernel's own copy, taken when the request was prepared: what it opened, with \
        no exit read.
        """
}

/// The event catalogue. Definitions live in `Catalogue+*.swift`, one file per category.
public enum Catalogue {
    public static let events: [EventSpec] = network + ipcAndFiles + process + modules

    private static let byName: [String: EventKind] = {
        var m: [String: EventKind] = [:]
        for (i, e) in events.enumerated() {
            precondition(m[e.name] == nil, "duplicate catalogue event \(e.name)")
            m[e.name] = EventKind(rawValue: UInt16(i))
        }
        return m
    }()

    /// `EventKind` for each x86_64 syscall number, and for each ia32 number (aliases included).
    private static let byX86_64: [Int: EventKind] = numberTable { $0.x86_64Number.map { [$0] } ?? [] }
    private static let byIA32: [Int: EventKind] = numberTable { $0.ia32Numbers }

    private static func numberTable(_ numbers: (EventSpec) -> [Int]) -> [Int: EventKind] {
        var m: [Int: EventKind] = [:]
        for (i, e) in events.enumerated() {
            for n in numbers(e) {
                precondition(m[n] == nil, "two catalogue events share syscall number \(n)")
                m[n] = EventKind(rawValue: UInt16(i))
            }
        }
        return m
    }

    public static var count: Int { events.count }
    public static var kinds: [EventKind] { events.indices.map { EventKind(rawValue: UInt16($0)) } }

    public static func kind(named name: String) -> EventKind? { byName[name] }
    public static func spec(named name: String) -> EventSpec? { byName[name].map { events[$0.index] } }
    public static func kind(x86_64 number: Int) -> EventKind? { byX86_64[number] }
    public static func kind(ia32 number: Int) -> EventKind? { byIA32[number] }

    /// Names close to `name`, for "did you mean" messages: a few edits, and fewer than half of
    /// the name (two edits turn "nope" into "open", which is no hint), or a name it begins.
    public static func suggestions(for name: String) -> [String] {
        let lower = name.lowercased()
        let scored = events.map { ($0.name, editDistance(lower, $0.name)) }
        let best = scored.filter { ($0.1 <= max(2, lower.count / 3) && 2 * $0.1 < lower.count) || $0.0.hasPrefix(lower) }
        return best.sorted { $0.1 < $1.1 }.prefix(3).map(\.0)
    }

    public static func editDistance(_ a: String, _ b: String) -> Int {
        let a = Array(a.utf8), b = Array(b.utf8)
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var prev = Array(0...b.count), cur = [Int](repeating: 0, count: b.count + 1)
        for i in 1...a.count {
            cur[0] = i
            for j in 1...b.count {
                cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
            }
            swap(&prev, &cur)
        }
        return prev[b.count]
    }
}
