using Spectre.Console;

namespace AsymCdc.Cli;

/// <summary>The repeatable <c>--set KEY=VALUE</c> option of the commands that start silos: configuration for every silo.</summary>
public static class SetOption
{
    public const string Description = "Configuration for every silo, e.g. --set AsymCdc:Serving:K=3 (repeatable).";

    /// <summary>An error naming the first pair that is not KEY=VALUE, or null when every pair is.</summary>
    public static ValidationResult? Validate(IEnumerable<string>? pairs) =>
        pairs?.FirstOrDefault(p => p.IndexOf('=', StringComparison.Ordinal) < 1) is { } bad
            ? ValidationResult.Error($"--set '{bad}' is not KEY=VALUE (e.g. AsymCdc:Serving:K=3)")
            : null;

    /// <summary>The pairs as keys and values (a later key wins); call <see cref="Validate"/> first.</summary>
    public static Dictionary<string, string?> Parse(IEnumerable<string>? pairs)
    {
        var settings = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (var pair in pairs ?? [])
        {
            var at = pair.IndexOf('=', StringComparison.Ordinal);
            settings[pair[..at].Trim()] = pair[(at + 1)..];
        }

        return settings;
    }
}
