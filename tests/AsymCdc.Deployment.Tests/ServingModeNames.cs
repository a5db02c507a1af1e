using System.Text.RegularExpressions;

namespace AsymCdc.Deployment.Tests;

/// <summary>
/// The serving-mode names the silo accepts, read from the abstractions source
/// (ServingModes.ToName) so the manifests and the chart schema cannot drift from the code.
/// </summary>
internal static partial class ServingModeNames
{
    public static IReadOnlyList<string> FromAbstractions()
    {
        var source = RepositoryLayout.ReadText("src", "AsymCdc.Abstractions", "ServingMode.cs");
        var names = ToNameArm().Matches(source).Select(m => m.Groups[1].Value).Distinct().ToList();
        Assert.True(names.Count >= 7, $"expected the 7 modes in ServingModes.ToName, found: {string.Join(", ", names)}");
        return names;
    }

    [GeneratedRegex(@"ServingMode\.\w+\s*=>\s*""([a-z-]+)""")]
    private static partial Regex ToNameArm();
}
