using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference.Data;
using AsymCdc.Simulation;

namespace AsymCdc.Cli.Bench;

/// <summary>One cell of the fidelity table: a percentile of a mode in a scenario, measured and simulated.</summary>
public sealed record FidelityRow(
    [property: JsonPropertyName("scenario")] string Scenario,
    [property: JsonPropertyName("mode")] string Mode,
    [property: JsonPropertyName("metric")] string Metric,
    [property: JsonPropertyName("measured_ms")] double MeasuredMs,
    [property: JsonPropertyName("simulated_ms")] double SimulatedMs,
    [property: JsonPropertyName("ratio")] double Ratio);

/// <summary><c>fidelity.json</c>: the calibration the simulator was given, and the table.</summary>
public sealed record FidelityReport(
    [property: JsonPropertyName("capacity_qps")] double CapacityQps,
    [property: JsonPropertyName("replication_capacity_qps")] double ReplicationCapacityQps,
    [property: JsonPropertyName("rate_qps")] double RateQps,
    [property: JsonPropertyName("cpu_per_call_ms")] double CpuPerCallMs,
    [property: JsonPropertyName("caller_cpu_ms")] double CallerCpuMs,
    [property: JsonPropertyName("overhead_ms")] double OverheadMs,
    [property: JsonPropertyName("service_samples_ms")] IReadOnlyList<double> ServiceSamplesMs,
    [property: JsonPropertyName("rows")] IReadOnlyList<FidelityRow> Rows);

/// <summary>
/// <c>asymcdc simulate --fidelity</c>: measures this machine's capacity in mode none, runs the real bench (4 workers,
/// k = 2, none/hedged/asymcdc-compact at 1% and 5% stragglers) at 70% of the capacity the heaviest of them leaves, then
/// the simulator on the same configuration with the service times the bench measured, and writes simulated ÷ measured.
/// The simulator models the machine's 2 cores as shared by every worker call: each call holds a core for its share of
/// the measured capacity (cores ÷ capacity), and the rest of the calibrated latency is the caller-side overhead.
/// </summary>
public static class FidelityRun
{
    private static readonly ServingMode[] s_modes = [ServingMode.None, ServingMode.Hedged, ServingMode.AsymCdcCompact];

    /// <summary>Runs the fidelity measurement, writes <c>fidelity.json</c> and <c>bench.json</c> to
    /// <paramref name="outDir"/> and prints the table as plain text; 0 when done.</summary>
    public static async Task<int> ExecuteAsync(string outDir, string? models, int? queries, CancellationToken cancellationToken)
    {
        var fidelity = await RunAsync(outDir, models, queries, Console.WriteLine, simulate: null, cancellationToken);
        foreach (var r in fidelity.Rows)
        {
            Console.WriteLine($"{r.Scenario} {r.Mode} {r.Metric}: measured {F(r.MeasuredMs)}, simulated {F(r.SimulatedMs)}, ratio {F(r.Ratio)}");
        }

        return 0;
    }

    /// <summary>The measurement itself: progress goes to <paramref name="note"/>, each simulation runs through
    /// <paramref name="simulate"/> (default: <see cref="Simulator.Run"/> without progress); writes <c>fidelity.json</c>
    /// and <c>bench.json</c> to <paramref name="outDir"/>.</summary>
    public static async Task<FidelityReport> RunAsync(string outDir, string? models, int? queries, Action<string>? note,
        Func<SimulationConfig, SimulationReport>? simulate, CancellationToken cancellationToken)
    {
        simulate ??= config => new Simulator(config).Run();
        var data = FashionMnist.LoadTestSet();
        note?.Invoke("asymcdc simulate --fidelity: measuring capacity (mode none, open loop far above it)...");
        var (capacity, replicated) = await MeasureCapacityAsync(models, data, cancellationToken);
        // The heaviest mode here is asymcdc-compact: 1 + 1/k worker calls per query.
        var rate = Math.Round(0.7 * capacity / 1.5, 1);
        note?.Invoke(string.Create(CultureInfo.InvariantCulture, $"Capacity {capacity:0} queries/s (replication {replicated:0}); bench and simulator at {rate:0.#} queries/s."));
        var options = BenchOptions.Quick();
        options.Preset = "fidelity";
        options.Queries = queries ?? 5000;
        options.WarmupQueries = 500;
        options.Rate = rate;
        options.Load = null;
        options.SlowSiloScenarios = false;
        options.StragglerRates = [0, 0.01, 0.05];
        options.Modes = s_modes;
        options.ModelRepository = models;
        var runner = new BenchRunner(options, data) { OnNote = note };
        var bench = await runner.RunAsync(cancellationToken);


        // Core time per query: c_o on the caller's side plus c_w per worker call. none costs c_o + c_w, replication
        // c_o + 2·c_w, so their two capacities give both; what the calibrated latency holds beyond them is waiting that
        // holds no core (network, timers).
        var cores = Math.Min(Environment.ProcessorCount, 2);
        var perQuery = cores * 1000.0 / capacity;
        var cpuPerCall = Math.Clamp((cores * 1000.0 / replicated) - perQuery, 0.1 * perQuery, 0.9 * perQuery);
        var callerCpu = perQuery - cpuPerCall;
        // The service-time distribution is mode none's without stragglers at this very rate and length (the bench's
        // first scenario), less the caller's core time; of each call, cpuPerCall holds a core, the rest holds none.
        var baseline = runner.LastRecords.Where(r => r.Outcome == QueryOutcome.Answered).Select(r => r.LatencyMs).Order().ToList();
        var scaled = baseline.Where((_, i) => i % Math.Max(1, baseline.Count / 1000) == 0)
            .Select(l => Math.Round(Math.Max(cpuPerCall, l - callerCpu), 4)).ToList();
        var overhead = 0.0;
        var rows = new List<FidelityRow>();
        var simulated = new List<ScenarioResult>();
        foreach (var stragglerRate in options.StragglerRates.Where(r => r > 0))
        {
            var config = Scenarios.Cpu4Workers with
            {
                Name = string.Create(CultureInfo.InvariantCulture, $"stragglers-{stragglerRate * 100:0.##}%"),
                Queries = options.Queries,
                Modes = [.. s_modes.Select(m => m.ToName())],
                Service = Scenarios.Cpu4Workers.Service with
                {
                    SamplesMs = scaled, SharedCores = cores, OverheadMs = overhead, CallerCpuMs = Math.Round(callerCpu, 4),
                    CoreMs = Math.Round(cpuPerCall, 4),
                },
                Faults = new FaultModel { StragglerRate = stragglerRate, StragglerDelayMs = bench.Config.StragglerDelayMs },
                Policy = Scenarios.Cpu4Workers.Policy with { StragglerDeadlineMs = bench.Config.StragglerDeadlineMs, GroupWindowMs = bench.Config.GroupWindowMs, Shards = bench.Config.GroupShards ?? 1 },
            };
            config = config with { Loads = [rate / Simulator.Capacity(config, new ServiceTimes(config.Service))] };
            var report = simulate(config);
            simulated.AddRange(report.Results);
            foreach (var sim in report.Results)
            {
                var real = bench.Results.Single(r => r.Scenario == config.Name && r.Mode == sim.Mode);
                rows.Add(Row(config.Name, sim.Mode, "p50", real.P50Ms, sim.P50Ms));
                rows.Add(Row(config.Name, sim.Mode, "p99", real.P99Ms, sim.P99Ms));
                rows.Add(Row(config.Name, sim.Mode, "p99.9", real.P999Ms, sim.P999Ms));
            }
        }

        var fidelity = new FidelityReport(Math.Round(capacity, 1), Math.Round(replicated, 1), rate, Math.Round(cpuPerCall, 4),
            Math.Round(callerCpu, 4), Math.Round(overhead, 4), scaled, rows);
        Directory.CreateDirectory(outDir);
        await File.WriteAllTextAsync(Path.Combine(outDir, "fidelity.json"), JsonSerializer.Serialize(fidelity, new JsonSerializerOptions { WriteIndented = true }), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(outDir, "bench.json"), BenchReportWriter.ToJson(bench), cancellationToken);
        return fidelity;
    }

    private static FidelityRow Row(string scenario, string mode, string metric, double measured, double simulated) =>
        new(scenario, mode, metric, measured, simulated, measured > 0 ? Math.Round(simulated / measured, 3) : 0);

    /// <summary>Open loop far above what the cluster serves, in modes none and replication: the answered rates are their capacities.</summary>
    private static async Task<(double None, double Replication)> MeasureCapacityAsync(string? models, FashionMnistSet data, CancellationToken cancellationToken)
    {
        await using var cluster = await LocalCluster.StartAsync(new LocalClusterOptions { Workers = 4, ModelRepository = models }, cancellationToken);
        var runner = new OpenLoopRunner(new AsymCdcClient(cluster.Client), data);
        async Task<double> Capacity(ServingMode mode)
        {
            await runner.RunAsync(mode, 1000, 500, TimeSpan.FromSeconds(5), 0, null, cancellationToken);
            var (records, elapsed) = await runner.RunAsync(mode, 6000, 8000, TimeSpan.FromSeconds(30), 1000, null, cancellationToken);
            return records.Count(r => r.Outcome == QueryOutcome.Answered) / elapsed.TotalSeconds;
        }

        return (await Capacity(ServingMode.None), await Capacity(ServingMode.Replication));
    }

    private static double Median(IReadOnlyList<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);
}
