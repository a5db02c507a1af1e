using System.Text.RegularExpressions;

namespace AsymCdc.Deployment.Tests;

/// <summary>The Prometheus Adapter rule that turns the silo's histogram into the HPA's per-pod metric.</summary>
public sealed partial class PrometheusAdapterTests
{
    public const string QueueDelayMetric = "asymcdc_worker_queue_delay_seconds";

    /// <summary>Custom-metric names the adapter rules expose (the `name.as` of each rule, `${1}` resolved).</summary>
    internal static IReadOnlyList<string> ExposedMetricNames()
    {
        var values = YamlDocuments.LoadSingle(RepositoryLayout.ReadText("deploy", "prometheus-adapter", "values.yaml"));
        var names = new List<string>();
        foreach (var rule in values["rules"]!["custom"]!.AsArray())
        {
            var series = SeriesName().Match((string)rule!["seriesQuery"]!).Value;
            var renamed = Regex.Replace(series, (string)rule["name"]!["matches"]!, ((string)rule["name"]!["as"]!).Replace("${1}", "$1", StringComparison.Ordinal));
            names.Add(renamed);
        }

        return names;
    }

    [Fact]
    public void Queue_delay_rule_averages_the_histogram_per_pod()
    {
        var values = YamlDocuments.LoadSingle(RepositoryLayout.ReadText("deploy", "prometheus-adapter", "values.yaml"));
        var rule = Assert.Single(values["rules"]!["custom"]!.AsArray())!;
        Assert.Equal("pod", (string?)rule["resources"]!["overrides"]!["pod"]!["resource"]);
        Assert.Equal("namespace", (string?)rule["resources"]!["overrides"]!["namespace"]!["resource"]);

        var query = (string)rule["metricsQuery"]!;
        Assert.Contains($"{QueueDelayMetric}_sum", query);
        Assert.Contains($"{QueueDelayMetric}_count", query);
        Assert.Contains("<<.LabelMatchers>>", query);
        Assert.Contains("<<.GroupBy>>", query);
        Assert.Equal([QueueDelayMetric], ExposedMetricNames());
    }

    [GeneratedRegex(@"^[a-zA-Z_:][a-zA-Z0-9_:]*")]
    private static partial Regex SeriesName();
}
