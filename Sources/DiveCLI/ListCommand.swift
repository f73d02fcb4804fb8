// `dive list`: the recipes with their book sections (zh 2.0, en v1.0) and a one-line summary.
import ArgumentParser
import DiveZoo

struct ListCommand: ParsableCommand, LoggingCommand {
    static let configuration = CommandConfiguration(commandName: "list", abstract: "List the recipes `dive train` runs.")

    @OptionGroup var logging: LoggingOptions

    func run() throws {
        print("recipe             zh     en     what")
        for r in RecipeRegistry.all { line(r) }
        print("\nnot in the book:")
        for r in RecipeRegistry.extras { line(r) }
    }

    private func line(_ r: any Recipe) {
        let l = r.listing
        print(
            l.name.padding(toLength: 19, withPad: " ", startingAt: 0)
                + l.section.padding(toLength: 7, withPad: " ", startingAt: 0)
                + l.enSection.padding(toLength: 7, withPad: " ", startingAt: 0) + l.summary)
    }
}
