using System.Globalization;
using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Cluster;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference.Data;
using AsymCdc.Simulation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace AsymCdc.Cli;

/// <summary>What <c>asymcdc demo</c> runs (its options, checked there).</summary>
public sealed class DemoOptions
{
    public int Queries { get; init; } = 1500;
    public int K { get; init; } = 2;
    public double StragglerRate { get; init; } = 0.05;
    public int StragglerDelayMs { get; init; } = 100;
    public int StragglerDeadlineMs { get; init; } = 15;
    public double DeadlineMedianFactor { get; init; } = 3;
    public string Deadline { get; init; } = "quantile";
    public double ShadowRate { get; init; } = 1;
    public int Workers { get; init; } = 4;
    public double Rate { get; init; } = 150;
    public int TimeoutMs { get; init; } = 5000;
    public string? Models { get; init; }

    /// <summary>The served model the load goes to, with items of its test data.</summary>
    public string Model { get; init; } = PredictionRequest.DefaultModel;
    public int GroupWindowMs { get; init; } = 10;
    public int SlowSiloMs { get; init; }
    public bool Verbose { get; init; }

    /// <summary>Run against the multi-process cluster in this run folder (<c>asymcdc cluster up</c>) instead of an
    /// in-process one; null: in-process.</summary>
    public string? ConnectTo { get; init; }

    /// <summary>The in-process cluster these settings describe.</summary>
    public LocalClusterOptions ClusterOptions()
    {
        var options = new LocalClusterOptions { Workers = Workers, ModelRepository = Models };
        if (Verbose)
        {
            options.ConfigureLogging = logging => logging.AddSimpleConsole(o => o.SingleLine = true);
        }

        if (SlowSiloMs > 0)
        {
            options.WorkerSettings[0] = new Dictionary<string, string?>
            {
                ["AsymCdc:Stragglers:SiloSlowdown"] = TimeSpan.FromMilliseconds(SlowSiloMs).ToString(),
            };
        }

        options.Settings["AsymCdc:Serving:GroupWindow"] = TimeSpan.FromMilliseconds(GroupWindowMs).ToString();
        options.Settings["AsymCdc:Serving:K"] = K.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = TimeSpan.FromMilliseconds(StragglerDeadlineMs).ToString();
        options.Settings["AsymCdc:Serving:GroupShards"] = "1";
        options.Settings["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = DeadlineMedianFactor.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:Deadline"] = Deadline;
        options.Settings["AsymCdc:Serving:ShadowSampleRate"] = ShadowRate.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Stragglers:Rate"] = StragglerRate.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Stragglers:Delay"] = TimeSpan.FromMilliseconds(StragglerDelayMs).ToString();
        return options;
    }
}

/// <summary>
/// <c>asymcdc demo</c>'s logic: an in-process cluster (or a connection to a multi-process one), open-loop Fashion-MNIST
/// load with injected stragglers, one <see cref="ScenarioResult"/> per mode on the same cluster and the same load.
/// </summary>
public sealed class DemoRun : IAsyncDisposable
{
    private readonly DemoOptions _options;
    private readonly LocalCluster? _cluster;
    private readonly ConnectedCluster? _connected;
    private readonly OpenLoopRunner _runner;
    private readonly WorkerCallCounter _counter = new();
    private readonly ShadowCounter _shadow = new();

    private DemoRun(DemoOptions options, LocalCluster? cluster, ConnectedCluster? connected, (Coding.CodedModel Model, LabeledSet Data) served)
    {
        _options = options;
        _cluster = cluster;
        _connected = connected;
        (Model, Data) = served;
        _runner = new OpenLoopRunner(new AsymCdcClient(cluster?.Client ?? connected!.Client), Data, options.Model);
        if (cluster is not null)
        {
            _counter.Track(cluster);
        }
    }

    /// <summary>The test split the load draws from.</summary>
    public LabeledSet Data { get; }

    /// <summary>The served model the load goes to.</summary>
    public Coding.CodedModel Model { get; }

    /// <summary>What <see cref="Model"/> lacks for <paramref name="mode"/> at the demo's k, or null when it can be served so.</summary>
    public string? Missing(ServingMode mode) => Grains.ServedModelModes.Missing(Model, mode, _options.K);

    /// <summary>Where the cluster's models come from.</summary>
    public string ModelDirectory => _cluster?.Models.Directory ?? _connected!.ModelRepository;

    /// <summary>The run folder of the connected multi-process cluster; null for the in-process one.</summary>
    public string? ConnectedRunDirectory => _connected?.Cluster.RunDirectory;

    /// <summary>Starts the in-process cluster, or connects to the multi-process one (<see cref="DemoOptions.ConnectTo"/>).</summary>
    public static async Task<DemoRun> StartAsync(DemoOptions options, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(options);
        var data = ServedData.Resolve(options.Models, options.Model);
        // Connected: the multi-process cluster in the run folder, whose worker calls are read from the silos' /metrics.
        if (options.ConnectTo is { } runDirectory)
        {
            return new DemoRun(options, null, await ConnectedCluster.ConnectAsync(runDirectory, TimeSpan.FromMilliseconds(options.TimeoutMs), cancellationToken), data);
        }

        return new DemoRun(options, await LocalCluster.StartAsync(options.ClusterOptions(), cancellationToken), null, data);
    }

    /// <summary>Warms <paramref name="mode"/> up (not measured: activates its grains on every silo), then measures it;
    /// <paramref name="onCompleted"/> hears of each measured query.</summary>
    public async Task<ScenarioResult> RunModeAsync(ServingMode mode, Action? onCompleted, CancellationToken cancellationToken)
    {
        var o = _options;
        var timeout = TimeSpan.FromMilliseconds(o.TimeoutMs);
        await _runner.RunAsync(mode, 4 * (o.K + 1) * o.Workers, o.Rate, timeout, Data.Count / 2, null, cancellationToken);
        var before = await WorkerCallsAsync(mode.ToName());
        var (records, elapsed) = await _runner.RunAsync(mode, o.Queries, o.Rate, timeout, 0, onCompleted, cancellationToken);
        return ScenarioResults.Summarise($"stragglers-{o.StragglerRate * 100:0.#}%", o.StragglerRate, mode.ToName(), o.K, o.Workers,
            records, elapsed, await WorkerCallsAsync(mode.ToName()) - before);
    }

    /// <summary>The adaptive straggler deadline now, in the in-process cluster with <c>--deadline adaptive</c>; else null.</summary>
    public (TimeSpan Current, int Count)? AdaptiveDeadline()
    {
        if (_cluster is null || _options.Deadline != "adaptive")
        {
            return null;
        }

        var deadline = _cluster.Frontend.Services.GetRequiredService<AsymCdc.Serving.StragglerDeadline>();
        return (deadline.Current, deadline.Count);
    }

    /// <summary>For the in-process cluster: per coded mode, how its reconstructions compared with the late answers, and
    /// the straggler-deadline misses (warm-up included). Late answers of the last mode may still be arriving: the count
    /// is of those in by now. Empty when connected.</summary>
    public IEnumerable<string> ShadowLines(IEnumerable<ServingMode> modes)
    {
        if (_connected is not null)
        {
            yield break;
        }

        foreach (var mode in modes.Where(m => m.IsCoded()))
        {
            var (@checked, agreed) = _shadow.Of(mode.ToName());
            yield return $"{mode.ToName()}: {ShadowCounter.Describe(@checked, agreed)}; {_shadow.Misses(mode.ToName())} straggler-deadline misses (warm-up included)";
        }
    }

    /// <summary>The demo's JSON report: its configuration and the results.</summary>
    public string ToJson(IReadOnlyList<ScenarioResult> results)
    {
        var o = _options;
        var report = new
        {
            config = new
            {
                k = o.K,
                workers = o.Workers,
                queries = o.Queries,
                rate_qps = o.Rate,
                straggler_rate = o.StragglerRate,
                straggler_delay_ms = o.StragglerDelayMs,
                straggler_deadline_ms = o.StragglerDeadlineMs,
                deadline_median_factor = o.DeadlineMedianFactor,
                deadline = o.Deadline,
                group_window_ms = o.GroupWindowMs,
                slow_silo_ms = o.SlowSiloMs,
                timeout_ms = o.TimeoutMs,
                models = ModelDirectory,
            },
            results,
        };
        return JsonSerializer.Serialize(report, new JsonSerializerOptions { WriteIndented = true });
    }

    private Task<long> WorkerCallsAsync(string mode) => _connected is null ? Task.FromResult(_counter.Calls(mode)) : _connected.WorkerCallsAsync(mode);

    public async ValueTask DisposeAsync()
    {
        _shadow.Dispose();
        _counter.Dispose();
        if (_cluster is not null)
        {
            await _cluster.DisposeAsync();
        }

        if (_connected is not null)
        {
            await _connected.DisposeAsync();
        }
    }
}
