#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCore

/// A process's executable: its path and the file's identity.
struct Executable: Equatable {
    var path: String
    var ino: UInt64 = 0
    var dev: UInt64 = 0
    var fs: String = ""
}

/// Executables by pid. The probes send a thread's executable in the first record after it
/// changes (new thread, exec), so this is normally filled from the wire; /proc/PID/exe is read
/// only for a pid never seen that way (a record lost, or a process event), once per pid.
struct ExeCache {
    private var byPid: [Int32: Executable] = [:]
    private(set) var procReads: UInt64 = 0
    static let limit = 1 << 16

    mutating func learn(pid: Int32, _ exe: Executable) {
        if byPid.count >= ExeCache.limit { byPid.removeAll(keepingCapacity: true) }
        byPid[pid] = exe
    }

    mutating func executable(pid: Int32) -> Executable {
        if let p = byPid[pid] { return p }
        procReads += 1
        var exe = Executable(path: ExeCache.readlink("/proc/\(pid)/exe"))
        var st = stat()
        if stat("/proc/\(pid)/exe", &st) == 0 {
            exe.ino = UInt64(st.st_ino)
            exe.dev = UInt64(st.st_dev)
        }
        learn(pid: pid, exe)
        return exe
    }

    mutating func forget(pid: Int32) { byPid[pid] = nil }

    static func readlink(_ path: String) -> String {
        var buf = [CChar](repeating: 0, count: 4097)
        let n = Glibc.readlink(path, &buf, 4096)
        guard n > 0 else { return "" }
        return String(decoding: buf[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }
}

/// Container ids from cgroup v2 ids. The kernel reports the cgroup id (the inode number of the
/// cgroup's directory in the cgroup2 hierarchy); the container runtime names the directory after
/// the container (`docker-<64 hex>.scope`, `/docker/<64 hex>`, `cri-containerd-…`). Scans the
/// hierarchy on a miss, at most once a second, and caches the answer, negative ones included.
struct ContainerResolver {
    private var byCgroup: [UInt64: String] = [1: ""]
    private var root: String?
    private var rootLooked = false
    private var lastScan: UInt64 = 0
    private(set) var scans: UInt64 = 0

    init(root: String? = nil) {
        if let root { self.root = root; rootLooked = true }
    }

    mutating func container(cgroup: UInt64) -> String {
        if let c = byCgroup[cgroup] { return c }
        let now = ContainerResolver.monotonicSeconds()
        if now >= lastScan + 1 || scans == 0 {
            lastScan = now
            scan()
        }
        if let c = byCgroup[cgroup] { return c }
        byCgroup[cgroup] = ""
        return ""
    }

    /// The 64-hex container id in a cgroup path, the last one when there are several.
    static func containerID(inPath path: String) -> String {
        let b = Array(path.utf8)
        var best = ""
        var i = 0
        while i < b.count {
            var j = i
            while j < b.count, ContainerResolver.isHex(b[j]) { j += 1 }
            if j - i == 64 { best = String(decoding: b[i..<j], as: UTF8.self) }
            i = j == i ? i + 1 : j
        }
        return best
    }

    private static func isHex(_ c: UInt8) -> Bool {
        (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)
    }

    private static func monotonicSeconds() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec)
    }

    /// The cgroup2 mount point, from /proc/self/mountinfo.
    static func findCgroup2Root() -> String? {
        guard let text = try? FileSystem.readText("/proc/self/mountinfo") else { return nil }
        for line in text.split(separator: "\n") {
            // "... mount-point options - fstype source super-options"
            let halves = line.split(separator: " - ", maxSplits: 1)
            guard halves.count == 2, halves[1].hasPrefix("cgroup2 ") else { continue }
            let fields = halves[0].split(separator: " ")
            if fields.count >= 5 { return String(fields[4]) }
        }
        return nil
    }

    private mutating func scan() {
        scans += 1
        if !rootLooked { root = ContainerResolver.findCgroup2Root(); rootLooked = true }
        guard let root else { return }
        var budget = 50_000
        walk(root, rel: "", depth: 0, budget: &budget)
    }

    private mutating func walk(_ dir: String, rel: String, depth: Int, budget: inout Int) {
        guard depth < 12, budget > 0, let d = opendir(dir) else { return }
        defer { closedir(d) }
        var st = stat()
        if stat(dir, &st) == 0 {
            let id = UInt64(st.st_ino)
            if byCgroup[id] == nil { byCgroup[id] = ContainerResolver.containerID(inPath: rel) }
        }
        while let e = readdir(d) {
            budget -= 1
            if budget <= 0 { return }
            guard e.pointee.d_type == UInt8(DT_DIR) else { continue }
            let name = withUnsafeBytes(of: e.pointee.d_name) { raw in
                String(decoding: raw.prefix { $0 != 0 }, as: UTF8.self)
            }
            if name == "." || name == ".." { continue }
            walk(dir + "/" + name, rel: rel + "/" + name, depth: depth + 1, budget: &budget)
        }
    }
}
