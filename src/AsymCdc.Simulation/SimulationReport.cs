using System.Text.Json;
using System.Text.Json.Serialization;

namespace AsymCdc.Simulation;

/// <summary>The configuration a simulation ran with and what it derived from it.</summary>
public sealed record SimulationSummary(
    [property: JsonPropertyName("scenario")] SimulationConfig Scenario,
    [property: JsonPropertyName("median_service_ms")] double MedianServiceMs,
    [property: JsonPropertyName("capacity_qps")] double CapacityQps);

/// <summary>What <c>asymcdc simulate</c> writes as <c>results.json</c>: <c>{"config":{...},"results":[...]}</c>, the bench's shape.</summary>
public sealed record SimulationReport(
    [property: JsonPropertyName("config")] SimulationSummary Config,
    [property: JsonPropertyName("results")] IReadOnlyList<ScenarioResult> Results)
{
    private static readonly JsonSerializerOptions s_json = new() { WriteIndented = true };

    public string ToJson() => JsonSerializer.Serialize(this, s_json);

    public static SimulationConfig ReadConfig(string json) =>
        JsonSerializer.Deserialize<SimulationConfig>(json, s_json) ?? throw new ArgumentException("the simulation config file is empty");
}

/// <summary>results.md of a simulation: one table per load, every mode side by side.</summary>
public static class SimulationMarkdown
{
    public static string Write(SimulationReport report)
    {
        ArgumentNullException.ThrowIfNull(report);
        var c = report.Config.Scenario;
        var md = new System.Text.StringBuilder();
        IFormatProvider inv = System.Globalization.CultureInfo.InvariantCulture;
        md.AppendLine(inv, $"# asymcdc simulate: {c.Name}");
        md.AppendLine();
        md.AppendLine(inv, $"{c.Description}. {c.Workers} workers ({c.Service.Kind} service model, median {report.Config.MedianServiceMs:0.###} ms), k = {c.K}, {c.Queries:N0} queries per mode and load, seed {c.Seed}; load 1.0 = {report.Config.CapacityQps:N0} queries/s (the workers' unbatched capacity ÷ the heaviest mode's nominal work per query). Latency in ms from each query's arrival, virtual time.");
        foreach (var load in report.Results.Select(r => r.Load).Distinct())
        {
            var rows = report.Results.Where(r => r.Load == load).ToList();
            md.AppendLine();
            md.AppendLine(inv, $"## load {load:0.##} ({rows[0].RateQps:N0} queries/s)");
            md.AppendLine();
            md.AppendLine("| mode | p50 | p99 | p99.9 | answered | errors | lost | reconstructed | extra work | cost (worker-ms/query) |");
            md.AppendLine("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
            foreach (var r in rows)
            {
                md.AppendLine(inv, $"| {r.Mode} | {r.P50Ms:0.00} | {r.P99Ms:0.00} | {r.P999Ms:0.00} | {r.Answered} | {r.Errors} | {r.Lost} | {r.Reconstructed} | {r.ExtraWorkRatio:0.000} | {r.CostMs ?? 0:0.000} |");
            }
        }

        return md.ToString();
    }
}
