using System.Text.RegularExpressions;

namespace AsymCdc.Deployment.Tests;

/// <summary>docs/OPERATIONS.md stays true to the files it tells operators to use.</summary>
public sealed partial class OperationsGuideTests
{
    private static readonly string Guide = RepositoryLayout.ReadText("docs", "OPERATIONS.md");

    [Fact]
    public void Every_repository_path_the_guide_names_exists()
    {
        var missing = RepositoryPath().Matches(Guide)
            .Select(m => m.Groups[1].Value.TrimEnd('/'))
            .Distinct()
            .Where(p => !File.Exists(RepositoryLayout.PathOf(p)) && !Directory.Exists(RepositoryLayout.PathOf(p)))
            .ToList();
        Assert.True(missing.Count == 0, "docs/OPERATIONS.md names paths that do not exist: " + string.Join(", ", missing));
    }

    [Fact]
    public void Guide_names_the_adapter_its_rule_and_the_helm_commands()
    {
        Assert.Contains("prometheus-community/prometheus-adapter", Guide);
        Assert.Contains(PrometheusAdapterTests.QueueDelayMetric, Guide);
        Assert.Contains("deploy/prometheus-adapter/values.yaml", Guide);
        Assert.Contains("helm lint helm/asymcdc", Guide);
        Assert.Contains("helm template", Guide);
        Assert.Contains("kubectl apply -k k8s/overlays/dev", Guide);
        Assert.Contains("asymcdc cluster up", Guide);
        foreach (var endpoint in new[] { "/health/startup", "/health/ready", "/health/live", "/metrics" })
        {
            Assert.Contains(endpoint, Guide);
        }
    }

    // Backticked or plain mentions of files and folders under the deployment-related roots.
    [GeneratedRegex(@"(?<![\w./-])((?:k8s|helm|deploy|src|docs|tests)/[\w./-]*[\w/])")]
    private static partial Regex RepositoryPath();
}
