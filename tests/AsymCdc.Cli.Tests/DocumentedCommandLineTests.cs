using System.Text.RegularExpressions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli.Tests;

/// <summary>
/// Every <c>asymcdc</c> command line of the README and docs/*.md (code blocks, inline code, the README's command
/// table) parses against the CLI's command definitions and passes their validation; none is executed.
/// </summary>
public sealed partial class DocumentedCommandLineTests
{
    private static readonly string[] Commands = ["demo", "predict", "eval", "bench", "serve", "cluster", "chaos", "elastic", "simulate", "train-decoders"];

    /// <summary>Placeholders of a synopsis (<c>--limit N</c>) and a value each can take.</summary>
    private static readonly Dictionary<string, string> Placeholders = new(StringComparer.Ordinal)
    {
        ["N"] = "4", ["MS"] = "100", ["F"] = "out.json", ["FILE"] = "out.json", ["DIR"] = "out",
        ["HOST:PORT"] = "127.0.0.1:18080", ["PORT"] = "18081", ["NAME"] = "digits-mlp", ["NAMES"] = "fmnist,digits-mlp", ["m"] = "none", ["k"] = "2", ["r"] = "0.01",
        ["L"] = "0.7", ["Q"] = "0.9", ["S"] = "7",
    };

    /// <summary>Where a synopsis's first argument (<c>NAME</c>) is not a model's name.</summary>
    private static readonly Dictionary<string, string> CommandPlaceholders = new(StringComparer.Ordinal)
    {
        ["simulate --scenario NAME"] = "simulate --scenario cpu-4-workers",
    };

    public static TheoryData<string, string> CommandLines()
    {
        // Each distinct line once: xUnit skips a repeated case with a warning.
        var data = new TheoryData<string, string>();
        foreach (var (source, line) in Documented().Distinct())
        {
            data.Add(source, line);
        }

        return data;
    }

    [Fact]
    public void The_docs_have_command_lines_to_check()
    {
        var lines = Documented().Select(d => d.Line).ToList();
        Assert.Contains(lines, l => l.StartsWith("eval --k", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.StartsWith("chaos --workers 4", StringComparison.Ordinal));
        Assert.True(lines.Count >= 15, $"only {lines.Count} command lines found");
    }

    [Theory]
    [MemberData(nameof(CommandLines))]
    public async Task A_documented_command_line_parses(string source, string commandLine)
    {
        var app = new CommandApp();
        app.Configure(config =>
        {
            AsymCdcCommandLine.Configure(config);
            config.PropagateExceptions();
            config.ConfigureConsole(AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(TextWriter.Null) }));
            config.SetInterceptor(new ParseOnly());
        });

        var args = AsymCdcCommandLine.Normalize(Tokenize(commandLine));
        var parsed = await Record.ExceptionAsync(() => app.RunAsync(args));

        Assert.True(parsed is ParsedException or null, $"{source}: `asymcdc {commandLine}` does not parse: {parsed?.Message}");
    }

    [Theory]
    [InlineData("--k", "-k")]
    [InlineData("--k=2", "-k=2")]
    [InlineData("--kill", "--kill")]
    [InlineData("-k", "-k")]
    [InlineData("--", "--")]
    public void A_one_letter_long_option_is_read_as_its_short_form(string given, string read) =>
        Assert.Equal([read], AsymCdcCommandLine.Normalize([given]));

    /// <summary>(file, command line after <c>asymcdc</c>) for every command line the docs show.</summary>
    internal static IEnumerable<(string Source, string Line)> Documented()
    {
        var root = RepositoryRoot();
        var files = new[] { Path.Combine(root, "README.md") }.Concat(Directory.GetFiles(Path.Combine(root, "docs"), "*.md").Order());
        foreach (var file in files)
        {
            var name = Path.GetRelativePath(root, file);
            var fenced = false;
            var commandTable = false;
            foreach (var line in File.ReadLines(file))
            {
                if (line.StartsWith("```", StringComparison.Ordinal))
                {
                    fenced = !fenced;
                    continue;
                }

                if (line.StartsWith("## ", StringComparison.Ordinal))
                {
                    commandTable = name == "README.md" && line.Contains("The commands", StringComparison.Ordinal);
                }

                IEnumerable<string> texts = fenced ? [line] : InlineCode().Matches(line).Select(m => m.Groups[1].Value);
                foreach (var text in texts)
                {
                    // In prose, `asymcdc simulate` names a command; a command line has arguments or stands in a code block.
                    if (Invocation(text) is { } commandLine && (fenced || commandLine.Contains(' ', StringComparison.Ordinal)))
                    {
                        yield return (name, commandLine);
                    }
                    else if (commandTable && line.StartsWith("| `", StringComparison.Ordinal) && IsCommand(text))
                    {
                        yield return (name, Expand(text));
                    }
                }
            }
        }
    }

    /// <summary>What follows <c>asymcdc</c> (or <c>dotnet run ... --project src/AsymCdc.Cli --</c>) in a text, as a
    /// runnable command line; null when the text invokes no command.</summary>
    private static string? Invocation(string text)
    {
        var match = DotnetRun().Match(text) is { Success: true } run ? run : Asymcdc().Match(text);
        if (!match.Success)
        {
            return null;
        }

        var rest = match.Groups["args"].Value;
        var comment = rest.IndexOf(" #", StringComparison.Ordinal);
        rest = (comment >= 0 ? rest[..comment] : rest).Trim();
        return IsCommand(rest) ? Expand(rest) : null;
    }

    private static bool IsCommand(string text) => Commands.Contains(text.Split(' ', 2)[0], StringComparer.Ordinal);

    /// <summary>A synopsis made runnable: optional parts kept (the first of alternatives), placeholders filled in.</summary>
    internal static string Expand(string synopsis)
    {
        var text = synopsis.Replace("\\|", "|", StringComparison.Ordinal);
        foreach (var (placeholder, value) in CommandPlaceholders)
        {
            text = text.Replace(placeholder, value, StringComparison.Ordinal);
        }

        text = OptionalGroup().Replace(text, m => m.Groups[1].Value.Split(" | ")[0]);
        var tokens = new List<string>();
        foreach (var token in text.Split(' ', StringSplitOptions.RemoveEmptyEntries))
        {
            if (token == "...")
            {
                tokens.RemoveAt(tokens.Count - 1); // an option whose values the synopsis does not list
                continue;
            }

            var first = token.StartsWith('-') ? token : token.Split('|')[0];
            tokens.Add(Placeholders.GetValueOrDefault(first, first));
        }

        return string.Join(' ', tokens);
    }

    private static string[] Tokenize(string commandLine) => commandLine.Split(' ', StringSplitOptions.RemoveEmptyEntries);

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "AsymCdc.Orleans.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("AsymCdc.Orleans.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex InlineCode();

    [GeneratedRegex(@"dotnet run\b.*--project src/AsymCdc\.Cli\S* -- (?<args>.*)$")]
    private static partial Regex DotnetRun();

    [GeneratedRegex(@"(?:^|[\s/$])asymcdc(?:\.dll)? (?<args>.*)$")]
    private static partial Regex Asymcdc();

    [GeneratedRegex(@"\[([^\[\]]*)\]")]
    private static partial Regex OptionalGroup();

    /// <summary>Parsed and bound: the command is not run.</summary>
    private sealed class ParsedException : Exception;

    private sealed class ParseOnly : ICommandInterceptor
    {
        public void Intercept(CommandContext context, CommandSettings settings)
        {
            var validation = settings.Validate();
            throw validation.Successful ? new ParsedException() : new InvalidOperationException(validation.Message);
        }
    }
}
