import MoonwatchCore

/// The `signatures/` folder as compiled into the binary by the EmbedFiles plugin.
public enum Bundled {
    public struct File: Sendable {
        public var path: String   // relative to signatures/
        public var text: String
    }

    public static let files: [File] = EmbeddedSignatures.files.map {
        File(path: $0.path, text: String(decoding: Base64.decode($0.base64), as: UTF8.self))
    }

    public static func file(_ path: String) -> String? { files.first { $0.path == path }?.text }
}
