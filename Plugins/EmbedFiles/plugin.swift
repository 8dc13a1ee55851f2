import Foundation
import PackagePlugin

/// Embeds files that live outside `Sources/` into the binary at build time:
/// - `MoonwatchSignatures`: the bundled signatures and their helper library (`signatures/`),
/// - `MoonwatchProbes`: the eBPF object compiled from `bpf/` with the toolchain's clang.
/// The generated Swift lands in the plugin work directory, never in git.
@main
struct EmbedFiles: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) throws -> [Command] {
        let tool = try context.tool(named: "moonwatch-embed")
        let root = context.package.directoryURL
        let out = context.pluginWorkDirectoryURL
        switch target.name {
        case "MoonwatchSignatures":
            let dir = root.appending(path: "signatures")
            let output = out.appending(path: "EmbeddedSignatures.swift")
            return [.buildCommand(displayName: "Embedding bundled signatures",
                                  executable: tool.url,
                                  arguments: ["files", dir.path, output.path, "EmbeddedSignatures"],
                                  inputFiles: files(under: dir),
                                  outputFiles: [output])]
        case "MoonwatchProbes":
            let dir = root.appending(path: "bpf")
            let wire = root.appending(path: "Sources/CMoonwatchWire/include")
            let output = out.appending(path: "EmbeddedBPF.swift")
            return [.buildCommand(displayName: "Compiling and embedding the eBPF object",
                                  executable: tool.url,
                                  arguments: ["bpf", dir.path, wire.path, output.path, out.path],
                                  inputFiles: files(under: dir) + files(under: wire),
                                  outputFiles: [output])]
        default:
            return []
        }
    }

    /// Every file under `dir`, and the folders themselves: a folder's timestamp changes when a
    /// file is added or removed, so new signatures are picked up without touching anything else.
    private func files(under dir: URL) -> [URL] {
        guard FileManager.default.fileExists(atPath: dir.path),
              let e = FileManager.default.enumerator(at: dir, includingPropertiesForKeys: [.isRegularFileKey, .isDirectoryKey]) else { return [] }
        var urls: [URL] = [dir]
        for case let url as URL in e {
            let v = try? url.resourceValues(forKeys: [.isRegularFileKey, .isDirectoryKey])
            if v?.isRegularFile == true || v?.isDirectory == true { urls.append(url) }
        }
        return urls.sorted { $0.path < $1.path }
    }
}
