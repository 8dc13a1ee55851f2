// Throughput benchmarks (numbers, never assertions). Run by `make bench` in a release build.
//
//   moonwatch-bench engine [N]   N pre-decoded mixed events through the bundled signatures, one core
//   moonwatch-bench replay [N]   a JSON-lines capture of N events → findings, through the same engine
#if canImport(Glibc)
import Glibc
#endif
import MoonwatchCapture
import MoonwatchCore
import MoonwatchEngine
import MoonwatchOutput
import MoonwatchSignatures

func now() -> Double {
    var ts = timespec()
    clock_gettime(CLOCK_MONOTONIC, &ts)
    return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
}

/// A number with `digits` decimals (no Foundation in this target).
func fixed(_ d: Double, _ digits: Int) -> String {
    var scale = 1.0
    for _ in 0..<digits { scale *= 10 }
    let v = (d * scale).rounded() / scale
    var s = String(v)
    if let dot = s.firstIndex(of: ".") {
        let decimals = s.distance(from: dot, to: s.endIndex) - 1
        if decimals < digits { s += String(repeating: "0", count: digits - decimals) }
    }
    return s
}

func peakRSSMiB() -> Double {
    var ru = rusage()
    getrusage(RUSAGE_SELF.rawValue, &ru)
    return Double(ru.ru_maxrss) / 1024
}

/// Counts findings without formatting them: the benchmark measures the engine, not stdout.
final class CountingSink: FindingSink {
    var count = 0
    func write(_ findings: [Finding]) throws { count += findings.count }
    func flush() throws {}
}

/// A mix shaped like a busy host's socket and process traffic. About 1% of events pass
/// descriptors and 0.5% have a changed TOCTOU argument, so signatures do report.
func mixedEvents(_ n: Int) -> [Event] {
    let comms = ["nginx", "postgres", "sshd", "python3", "containerd", "curl", "bash", "node"]
    var procs: [ProcessContext] = []
    for i in 0..<64 {
        var p = ProcessContext()
        p.pid = Int32(1000 + i); p.tid = p.pid; p.ppid = 1
        p.uid = i % 3 == 0 ? 0 : 1000; p.gid = 1000
        p.comm = comms[i % 8]; p.exe = "/usr/bin/" + comms[i % 8]
        p.cgroup = UInt64(4000 + i % 4); p.mntns = 4026531841; p.pidns = 4026531836
        procs.append(p)
    }
    func msg(fds: [Int64]) -> Value {
        let control: [Value] = fds.isEmpty ? [] : [.object([("level", "SOL_SOCKET"), ("type", "SCM_RIGHTS"), ("fds", .array(fds.map { .int($0) })),
                                                            ("files", .array(fds.map { .object([("fd", .int($0)), ("type", "socket"), ("path", "socket:[1234]")]) }))])]
        return .object([("name", .null), ("iov", [512]), ("iovlen", 1), ("bytes", 512), ("controllen", .int(Int64(control.count * 24))),
                        ("control", .array(control)), ("flags", 0)])
    }
    let inet: Value = .object([("family", "AF_INET"), ("addr", "10.1.2.3"), ("port", 443)])
    let moved: Value = .object([("family", "AF_INET"), ("addr", "10.1.2.3"), ("port", 4444)])
    var out: [Event] = []
    out.reserveCapacity(n)
    var rng = SystemRandomNumberGenerator()
    for i in 0..<n {
        let p = procs[i % procs.count]
        let r = Int.random(in: 0..<1000, using: &rng)
        var e: Event
        func make(_ name: String) -> Event { Event(kind: Catalogue.kind(named: name)!, time: UInt64(i), ret: 0, process: p) }
        switch r {
        case 0..<150:
            e = make("sendmsg"); e.ret = 512
            let m = msg(fds: r < 10 ? [7] : [])
            e[arg: "sockfd"] = 5; e[arg: "msg"] = m; e[arg: "flags"] = 0
            e.exitArgs[1] = m
        case 150..<300:
            e = make("recvmsg"); e.ret = 512
            e[arg: "sockfd"] = 6; e[arg: "msg"] = msg(fds: []); e[arg: "flags"] = 0
        case 300..<450:
            e = make("sendto"); e.ret = 64
            e[arg: "sockfd"] = 3; e[arg: "buf"] = 0x7fff0000; e[arg: "len"] = 64; e[arg: "flags"] = 0
            e[arg: "dest_addr"] = inet; e[arg: "addrlen"] = 16
            e.exitArgs[4] = r < 305 ? moved : inet
            e.computeChanged()
        case 450..<600:
            e = make("recvfrom"); e.ret = 64
            e[arg: "sockfd"] = 3; e[arg: "buf"] = 0x7fff0000; e[arg: "len"] = 2048; e[arg: "flags"] = 0
            e[arg: "src_addr"] = inet; e[arg: "addrlen"] = 16
        case 600..<680:
            e = make("connect")
            e[arg: "sockfd"] = 3; e[arg: "addr"] = inet; e[arg: "addrlen"] = 16; e.exitArgs[1] = inet
        case 680..<800:
            e = make("openat"); e.ret = 7
            e[arg: "dirfd"] = -100; e[arg: "pathname"] = .string("/var/lib/app/data-\(i % 100).db"); e[arg: "flags"] = 0; e[arg: "mode"] = 0
            e.exitArgs[1] = e.args[1]
        case 800..<950:
            e = make("close"); e[arg: "fd"] = 7
        case 950..<970:
            e = make("execve")
            e[arg: "pathname"] = "/usr/bin/ls"; e[arg: "argv"] = ["ls", "-l", "/tmp"]
        case 970..<985:
            e = make("socket"); e.ret = 3
            e[arg: "domain"] = 2; e[arg: "type"] = 1; e[arg: "protocol"] = 0
        default:
            e = make("dup2"); e.ret = 1
            e[arg: "oldfd"] = 3; e[arg: "newfd"] = 1
        }
        out.append(e)
    }
    return out
}

func loadBundled() -> [Signature] {
    do { return try Signature.loadAll(SignatureLoader.bundledSources) } catch {
        print("cannot load bundled signatures: \(error)")
        exit(1)
    }
}

func benchEngine(_ n: Int) throws {
    // A pool of distinct events replayed in order: memory stays that of a real pipeline, not of n events.
    let pool = mixedEvents(min(n, 100_000))
    let sigs = loadBundled()
    let sink = CountingSink()
    let engine = Engine(signatures: sigs, sinks: [sink], log: { _ in })
    // Warm up tables and caches, then measure in batches as the live path does.
    try engine.process(pool.prefix(10_000))
    let batch = 1024
    let t0 = now()
    var done = 0, i = 0
    while done < n {
        let k = min(batch, n - done, pool.count - i)
        try engine.process(pool[i..<(i + k)])
        done += k
        i = (i + k) % pool.count
    }
    let dt = now() - t0
    let rate = Double(n) / dt
    print("engine: \(n) events through \(sigs.count) bundled signatures in \(fixed(dt, 3)) s "
          + "= \(Int(rate)) events/s (one thread), \(sink.count) findings, \(engine.eventsRouted) routed, "
          + "peak RSS \(fixed(peakRSSMiB(), 1)) MiB")
}

func benchReplay(_ n: Int) throws {
    let path = "/tmp/moonwatch-bench-\(getpid()).jsonl"
    do {
        let w = try CaptureWriter(path: path)
        var chunk = 0
        while chunk < n {
            let k = min(100_000, n - chunk)
            try w.write(mixedEvents(k))
            chunk += k
        }
        try w.flush()
    }
    defer { unlink(path) }
    var st = stat()
    stat(path, &st)
    let sigs = loadBundled()
    let sink = CountingSink()
    let engine = Engine(signatures: sigs, sinks: [sink], log: { _ in })
    let reader = CaptureReader(paths: [path], log: { print($0) })
    let source = PrefetchSource(reader)   // as `moonwatch replay` does
    let t0 = now()
    try engine.run(source)
    let dt = now() - t0
    let rate = Double(engine.eventsIn) / dt
    print("replay: \(engine.eventsIn) events (\(st.st_size >> 20) MiB of JSON lines) in \(fixed(dt, 3)) s "
          + "= \(Int(rate)) events/s, \(sink.count) findings, \(reader.stats.skippedTotal) skipped, "
          + "peak RSS \(fixed(peakRSSMiB(), 1)) MiB")
}

let args = CommandLine.arguments
let mode = args.count > 1 ? args[1] : "all"
let n = args.count > 2 ? Int(args[2]) ?? 0 : 0
do {
    switch mode {
    case "engine": try benchEngine(n > 0 ? n : 2_000_000)
    case "replay": try benchReplay(n > 0 ? n : 1_000_000)
    default:
        print("usage: moonwatch-bench engine|replay [events]")
        exit(2)
    }
} catch {
    print("benchmark failed: \(error)")
    exit(1)
}
