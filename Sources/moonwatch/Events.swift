import ArgumentParser
import MoonwatchCore

struct Events: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "The event catalogue: what moonwatch captures and how each argument is read.",
        subcommands: [List.self, Describe.self, Docs.self])

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List every event with its syscall numbers.")
        func run() { print(EventDocs.listText(), terminator: "") }
    }

    enum Format: String, ExpressibleByArgument, CaseIterable { case text, markdown }

    struct Describe: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Document one event: arguments, tags, read phase, use case.")
        @Argument(help: "Event name, e.g. recvmsg.") var name: String
        @Option(help: "text or markdown.") var format: Format = .text

        func run() throws {
            guard let spec = Catalogue.spec(named: name) else {
                let hint = Catalogue.suggestions(for: name)
                throw ValidationError("unknown event \"\(name)\"" + (hint.isEmpty ? "" : "; did you mean \(hint.joined(separator: ", "))?")
                                      + " (`moonwatch events list` shows them all)")
            }
            print(format == .text ? EventDocs.text(spec) : EventDocs.markdown(spec), terminator: "")
        }
    }

    struct Docs: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Write docs/events/*.md from the catalogue.")
        @Option(help: "Output folder.") var out: String = "docs/events"

        func run() throws {
            try FileSystem.makeDirectory(out)
            for spec in Catalogue.events {
                try FileSystem.write("\(out)/\(spec.name).md", Array(EventDocs.markdown(spec).utf8))
            }
            try FileSystem.write("\(out)/README.md", Array(EventDocs.indexMarkdown().utf8))
            print("wrote \(Catalogue.count + 1) files to \(out)")
        }
    }
}
