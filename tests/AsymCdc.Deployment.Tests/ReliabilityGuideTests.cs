namespace AsymCdc.Deployment.Tests;

/// <summary>docs/RELIABILITY.md is a reference (guarantees, fault matrix, drills), not a log: history stays in git.</summary>
public sealed class ReliabilityGuideTests
{
    private static readonly string Guide = RepositoryLayout.ReadText("docs", "RELIABILITY.md");

    [Fact]
    public void The_guide_stays_a_reference()
    {
        var lines = Guide.Split('\n').Length;
        Assert.True(lines <= 300, $"docs/RELIABILITY.md has {lines} lines; keep it at most 300 (the history belongs in git)");
        Assert.Contains("## Guarantees", Guide, StringComparison.Ordinal);
        Assert.Contains("## Fault matrix", Guide, StringComparison.Ordinal);
        Assert.Contains("## Running the drills", Guide, StringComparison.Ordinal);
    }
}
