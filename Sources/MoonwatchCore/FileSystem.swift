#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An errno-carrying failure of a C call, captured right after the call.
public struct SystemError: Error, Sendable, CustomStringConvertible, Equatable {
    public var call: String
    public var path: String?
    public var errno: Int32
    /// Said instead of strerror(errno) when set.
    public var reason: String?
    public init(_ call: String, path: String? = nil, errno: Int32 = Glibc.errno, reason: String? = nil) {
        self.call = call; self.path = path; self.errno = errno; self.reason = reason
    }
    public var description: String {
        let reason = self.reason ?? String(cString: strerror(errno))
        if let path { return "\(path): \(reason)" }
        return "\(call): \(reason)"
    }
}

/// Thin wrappers over POSIX file calls (no Foundation on these paths).
public enum FileSystem {
    /// Reads a whole file with read(2).
    public static func readBytes(_ path: String) throws(SystemError) -> [UInt8] {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        defer { close(fd) }
        return try readAll(fd, path: path)
    }

    /// Reads what is left of an open descriptor with read(2).
    public static func readAll(_ fd: Int32, path: String) throws(SystemError) -> [UInt8] {
        var out: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 1 << 16)
        while true {
            let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("read", path: path)
            }
            if n == 0 { break }
            out.append(contentsOf: chunk[0..<n])
        }
        return out
    }

    public static func readText(_ path: String) throws(SystemError) -> String {
        String(decoding: try readBytes(path), as: UTF8.self)
    }

    /// Writes (creating or truncating) a file.
    public static func write(_ path: String, _ bytes: [UInt8]) throws(SystemError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else { throw SystemError("open", path: path) }
        defer { close(fd) }
        try writeAll(fd, bytes, path: path)
    }

    /// Opens a file to write results into (findings, a capture), the way a privileged process
    /// must in a folder others can write to (/tmp):
    ///  - created 0600; an existing file keeps its mode;
    ///  - never through a symbolic link (O_NOFOLLOW): a link planted at the path is refused;
    ///  - an existing regular file (or FIFO) must belong to this user, and a regular file must
    ///    have a single link, or it is refused (root could otherwise be made to overwrite a file
    ///    of someone else's choosing);
    ///  - a regular file is truncated only once all of that holds. Opening does not block on a
    ///    FIFO nobody reads (ENXIO instead). Character devices (/dev/null) are written as they are.
    /// Calls open(2) with O_NOFOLLOW|O_NONBLOCK, fstat(2), ftruncate(2) and fcntl(2).
    /// With `append`, the file is opened for appending and never truncated (reopening an output
    /// after logrotate moved it).
    public static func openForOutput(_ path: String, append: Bool = false) throws(SystemError) -> Int32 {
        let fd = open(path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC | (append ? O_APPEND : 0), 0o600)
        guard fd >= 0 else {
            let e = errno
            if e == ELOOP { throw SystemError("open", path: path, errno: e, reason: "is a symbolic link; refusing to follow it (use - for standard output)") }
            if e == ENXIO { throw SystemError("open", path: path, errno: e, reason: "is a FIFO that nobody reads") }
            throw SystemError("open", path: path, errno: e)
        }
        var st = stat()
        guard fstat(fd, &st) == 0 else { let e = errno; close(fd); throw SystemError("fstat", path: path, errno: e) }
        let kind = st.st_mode & S_IFMT
        if (kind == S_IFREG || kind == S_IFIFO) && st.st_uid != geteuid() {
            close(fd)
            throw SystemError("open", path: path, errno: EPERM,
                              reason: "belongs to uid \(st.st_uid), not to this user (uid \(geteuid())); refusing to write into it")
        }
        if kind == S_IFREG && st.st_nlink > 1 {
            close(fd)
            throw SystemError("open", path: path, errno: EPERM,
                              reason: "has \(st.st_nlink) hard links; refusing to write into it (remove it or choose another name)")
        }
        if !append && kind == S_IFREG && st.st_size > 0 && ftruncate(fd, 0) != 0 {
            let e = errno; close(fd); throw SystemError("ftruncate", path: path, errno: e)
        }
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK)
        return fd
    }

    public static func writeAll(_ fd: Int32, _ bytes: [UInt8], path: String? = nil) throws(SystemError) {
        var off = 0
        while off < bytes.count {
            let n = bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress! + off, $0.count - off) }
            if n < 0 {
                if errno == EINTR { continue }
                throw SystemError("write", path: path)
            }
            off += n
        }
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0
    }

    /// Regular files under `dir`, recursively, sorted.
    public static func files(under dir: String) -> [String] {
        var out: [String] = []
        guard let d = opendir(dir) else { return out }
        defer { closedir(d) }
        while let ent = readdir(d) {
            let name = withUnsafeBytes(of: ent.pointee.d_name) { raw in
                String(cString: raw.baseAddress!.assumingMemoryBound(to: CChar.self))
            }
            if name == "." || name == ".." || name.hasPrefix(".") { continue }
            let path = dir.hasSuffix("/") ? dir + name : dir + "/" + name
            if isDirectory(path) { out.append(contentsOf: files(under: path)) } else { out.append(path) }
        }
        return out.sorted()
    }

    public static func makeDirectory(_ path: String) throws(SystemError) {
        if mkdir(path, 0o755) != 0 && errno != EEXIST { throw SystemError("mkdir", path: path) }
    }
}

/// Base64 (RFC 4648) decoding for data compiled into the binary.
public enum Base64 {
    public static func decode(_ text: String) -> [UInt8] {
        var table = [UInt8](repeating: 0xFF, count: 256)
        for (i, c) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() { table[Int(c)] = UInt8(i) }
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count * 3 / 4)
        var acc: UInt32 = 0, bits = 0
        for c in text.utf8 {
            let v = table[Int(c)]
            if v == 0xFF { continue }   // '=' padding and anything else
            acc = acc << 6 | UInt32(v)
            bits += 6
            if bits >= 8 {
                bits -= 8
                out.append(UInt8((acc >> UInt32(bits)) & 0xFF))
            }
        }
        return out
    }
}

extension StringProtocol {
    /// The string without leading and trailing white space.
    public var trimmingSpaces: String {
        let scalars = String(self).unicodeScalars
        guard let a = scalars.firstIndex(where: { !$0.properties.isWhitespace }),
              let b = scalars.lastIndex(where: { !$0.properties.isWhitespace }) else { return "" }
        return String(String.UnicodeScalarView(scalars[a...b]))
    }
}
