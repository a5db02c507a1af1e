using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference.Data;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Cli.Cluster;

/// <summary>What a chaos drill runs (<c>asymcdc chaos</c>'s options, checked there).</summary>
public sealed class ChaosRunOptions
{
    public int Workers { get; init; } = 4;
    public int Frontends { get; init; } = 1;
    public int Queries { get; init; } = 1500;
    public double Rate { get; init; } = 100;
    public int Kill { get; init; } = 1;
    public bool KillFrontend { get; init; }
    public int? FreezeFrontendMs { get; init; }
    public double KillAt { get; init; } = 0.33;
    public int RestartAfterMs { get; init; } = 1000;
    public int RestartNice { get; init; } = 19;
    public int KillNice { get; init; } = 19;
    public ServingMode Mode { get; init; } = ServingMode.AsymCdcCompact;
    public int K { get; init; } = 2;
    public int StragglerDeadlineMs { get; init; } = 5;
    public double DeadlineMedianFactor { get; init; } = 3;
    public int Warmup { get; init; } = 1000;
    public bool Rehearse { get; init; }
    public ClientHedging? Hedging { get; init; }
    public int TimeoutMs { get; init; } = 5000;
    public string RunDirectory { get; init; } = "runs/chaos";
    public string? Models { get; init; }
    public string? Silo { get; init; }

    public TimeSpan Timeout => TimeSpan.FromMilliseconds(TimeoutMs);

    /// <summary>Measured load's length.</summary>
    public TimeSpan Duration => TimeSpan.FromSeconds(Queries / Rate);

    /// <summary>The process cluster the drill starts: these serving settings on every silo.</summary>
    public ProcessClusterOptions ClusterOptions()
    {
        var options = new ProcessClusterOptions
        {
            Workers = Workers,
            Frontends = Frontends,
            RunDirectory = RunDirectory,
            ModelRepository = Models,
            SiloDll = Silo,
        };
        options.Settings["AsymCdc:Serving:K"] = K.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = TimeSpan.FromMilliseconds(StragglerDeadlineMs).ToString();
        options.Settings["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = DeadlineMedianFactor.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:RequestTimeout"] = TimeSpan.FromMilliseconds(TimeoutMs).ToString();
        return options;
    }
}

/// <summary>What a chaos drill measured: the report, when the kill and the replacements happened, and what the client
/// and its process did meanwhile.</summary>
public sealed record ChaosRunResult(
    ChaosReport Report,
    IReadOnlyList<ChaosRecord> Records,
    IReadOnlyList<string> Victims,
    string? Frozen,
    DateTime LoadStartedUtc,
    double KillMs,
    double ReplacedMs,
    ClientCounters Counters,
    TimeSpan? HedgeDelayAtStart,
    double? GatewayLossSeenMs,
    IReadOnlyList<ClientStall> Stalls,
    GcTotals ClientGc)
{
    /// <summary>The ten longest stalls of the drill's own process.</summary>
    public IReadOnlyList<ClientStall> LongestStalls => [.. Stalls.OrderByDescending(x => x.Ms).Take(10)];

    /// <summary>The drill's JSON report (docs/RELIABILITY.md).</summary>
    public string ToJson(ChaosRunOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var (resent, respreads, kept, hedged, hedgeWins, withheld, suspected, resentOnSuspicion, resentOnRefusal) = Counters;
        var report = Report;
        var json = new
        {
            config = new
            {
                workers = options.Workers,
                frontends = options.Frontends,
                queries = options.Queries,
                rate_qps = options.Rate,
                mode = options.Mode.ToName(),
                k = options.K,
                straggler_deadline_ms = options.StragglerDeadlineMs,
                deadline_median_factor = options.DeadlineMedianFactor,
                warmup = options.Warmup,
                timeout_ms = options.TimeoutMs,
                killed = Victims,
                frozen = Frozen,
                freeze_ms = options.FreezeFrontendMs,
                restart_after_ms = options.RestartAfterMs,
                restart_nice = options.RestartNice,
                kill_nice = options.KillNice,
                silo_runtime_settings = SiloRuntimeEnvironment.Variables,
                rehearsed = options.Rehearse,
                hedge_percentile = options.Hedging?.Percentile,
            },
            load_started_utc = LoadStartedUtc,
            kill_at_s = Math.Round(KillMs / 1000, 2),
            replaced_at_s = Math.Round(ReplacedMs / 1000, 2),
            queries = report.Queries,
            answered = report.Answered,
            errors = report.Errors,
            lost = report.Lost,
            p999_ms_before = report.P999MsBefore,
            p999_ms_during = report.P999MsDuring,
            p999_during_over_before = report.P999Ratio,
            p999_within_target = report.WithinTarget,
            recovery_s = report.RecoverySeconds,
            p50_ms_before = report.P50MsBefore,
            p50_ms_during = report.P50MsDuring,
            queries_before = report.QueriesBefore,
            queries_during = report.QueriesDuring,
            errors_by_kind = report.ErrorsByKind,
            lost_sent_s = report.LostSentSeconds,
            slowest_during = report.SlowestDuring,
            resent_after_gateway_loss = resent,
            respreads,
            keys_kept_unanswered = kept,
            gateway_loss_seen_ms = GatewayLossSeenMs,
            hedge_delay_ms_at_start = HedgeDelayAtStart is { } d ? Math.Round(d.TotalMilliseconds, 2) : (double?)null,
            hedged,
            hedge_wins = hedgeWins,
            hedges_withheld = withheld,
            frontend_suspicions = suspected,
            resent_on_suspicion = resentOnSuspicion,
            resent_on_refusal = resentOnRefusal,
            client_stalls = Stalls.Count,
            client_stalls_longest = LongestStalls,
            client_gc = ClientGc,
        };
        return JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true });
    }

    /// <summary>Every query as CSV lines, the header first.</summary>
    public IEnumerable<string> RecordsCsv() =>
        [ChaosRecord.CsvHeader, .. Records.Select(r => r.ToCsv())];

    /// <summary>Every query was answered or refused with an error: none lost.</summary>
    public bool Passed => Report.Lost == 0 && Report.Answered + Report.Errors == Report.Queries;
}

/// <summary>
/// A chaos drill against a started <see cref="ProcessCluster"/>: open-loop load through the Orleans client, SIGKILLs of
/// worker silos (and optionally a frontend) during the load, restarts as Kubernetes would, and the report of lost
/// queries, errors, p99.9 before and during the kill, and the time to recover.
/// </summary>
public static class ChaosRun
{
    /// <summary>The shortest stall of the drill's own process that the report records.</summary>
    public static readonly TimeSpan ClientStallThreshold = TimeSpan.FromMilliseconds(5);

    /// <summary>What the drill's silos run with, and what it emulates of separate nodes: stated in every report.</summary>
    public static string DrillConditions(int killNice, int restartNice)
    {
        var runtime = SiloRuntimeEnvironment.Variables.Count == 0
            ? ".NET's defaults"
            : string.Join(" ", SiloRuntimeEnvironment.Variables.Select(v => $"{v.Key}={v.Value}"));
        var nodes = killNice == 0 && restartNice == 0
            ? "none (every silo shares this machine's cores as it is)"
            : $"a killed silo at nice {killNice} for its teardown, a restarted one at nice {restartNice} until ready (--kill-nice/--restart-nice 0: off)";
        return $"Silo runtime settings: those of the image and the chart ({runtime}). Separate nodes emulated: {nodes}.";
    }

    /// <summary>Warm-up, the optional rehearsal, then the measured load with its kills; <paramref name="phase"/> hears
    /// what is going on.</summary>
    public static async Task<ChaosRunResult> RunAsync(ProcessCluster cluster, ChaosRunOptions options, Action<string>? phase,
        CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        ArgumentNullException.ThrowIfNull(options);
        var data = FashionMnist.LoadTestSet();
        var timeout = options.Timeout;
        // The client fails a call still unanswered a second after its deadline (a frontend died with it in flight).
        await using var connection = await ClusterConnection.ConnectAsync(cluster.State, timeout + TimeSpan.FromSeconds(1),
            hedging: options.Hedging, cancellationToken: cancellationToken);
        var load = new ChaosLoad(connection.Predictions, data);

        // Warm-up (not measured): activates the groups and the workers' sessions on every silo, and runs long enough
        // for the JIT to tier up, so that "before" is the steady state the kill is compared with.
        phase?.Invoke("Warm-up load...");
        await load.RunAsync(options.Mode, Math.Max(options.Warmup, 4 * (options.K + 1) * options.Workers), options.Rate, timeout, Stopwatch.GetTimestamp(), cancellationToken);

        if (options.Rehearse)
        {
            phase?.Invoke($"Rehearsal: SIGKILL worker-{options.Workers - 1} under the warm-up load, restart it...");
            await RehearseAsync(cluster, load, options, cancellationToken);
        }

        var victims = Enumerable.Range(0, options.Kill).Select(i => $"worker-{i}").ToList();
        if (options.KillFrontend)
        {
            victims.Add("frontend-0");
        }

        var duration = options.Duration;
        var startedUtc = DateTime.UtcNow;
        var countersBefore = connection.Predictions.Counters;
        var hedgeDelayBefore = connection.Predictions.HedgeDelay;
        var start = Stopwatch.GetTimestamp();
        // The drill's client shares the machine's cores with the cluster: its own stalls are recorded, so that a slow
        // answer can be told apart from a stall of the load generator.
        using var probe = new ClientStallProbe(start, ClientStallThreshold);
        // When the client saw a gateway connection drop (the killed frontend's): what the calls in flight through it
        // wait for before they are sent again.
        var gatewayLossMs = connection.Client.ServiceProvider.GetService<GatewayLossSignal>() is { } signal
            ? signal.NextLoss.ContinueWith(_ => Stopwatch.GetElapsedTime(start).TotalMilliseconds, CancellationToken.None,
                TaskContinuationOptions.ExecuteSynchronously, TaskScheduler.Default)
            : null;
        var freeze = options.FreezeFrontendMs is { } ms ? ("frontend-0", TimeSpan.FromMilliseconds(ms)) : default((string, TimeSpan)?);
        var drill = ChaosDrill.KillAndRestartAsync(cluster, victims, duration * options.KillAt, TimeSpan.FromMilliseconds(options.RestartAfterMs),
            options.RestartNice, options.KillNice, start, cancellationToken, freeze);
        phase?.Invoke($"Load for {duration.TotalSeconds:0} s, kills at {(duration * options.KillAt).TotalSeconds:0.0} s...");
        var records = await load.RunAsync(options.Mode, options.Queries, options.Rate, timeout, start, cancellationToken);
        var loadEndMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
        probe.Dispose();
        var (stalls, clientGc) = (probe.Stalls, probe.GcSinceStart);
        var (killMs, replacedMs) = await drill;
        var report = ChaosReport.Compute(records, killMs, replacedMs <= loadEndMs ? replacedMs : null, stalls);
        double? lossSeenMs = gatewayLossMs is { IsCompletedSuccessfully: true } ? Math.Round(gatewayLossMs.Result - killMs, 1) : null;
        return new ChaosRunResult(report, records, victims, freeze?.Item1, startedUtc, killMs, replacedMs,
            connection.Predictions.Counters - countersBefore, hedgeDelayBefore, lossSeenMs, stalls, clientGc);
    }

    /// <summary>Kills the last worker one second into a warm-up load and keeps that load going until its replacement is
    /// ready (by then Orleans has declared the killed process dead), then two seconds more.</summary>
    private static async Task RehearseAsync(ProcessCluster cluster, ChaosLoad load, ChaosRunOptions options, CancellationToken cancellationToken)
    {
        var rehearsal = ChaosDrill.KillAndRestartAsync(cluster, [$"worker-{options.Workers - 1}"], TimeSpan.FromSeconds(1),
            TimeSpan.FromMilliseconds(options.RestartAfterMs), options.RestartNice, options.KillNice, Stopwatch.GetTimestamp(), cancellationToken);
        var second = Math.Max(1, (int)options.Rate);
        while (!rehearsal.IsCompleted)
        {
            await load.RunAsync(options.Mode, second, options.Rate, options.Timeout, Stopwatch.GetTimestamp(), cancellationToken);
        }

        await rehearsal;
        await load.RunAsync(options.Mode, 2 * second, options.Rate, options.Timeout, Stopwatch.GetTimestamp(), cancellationToken);
    }
}
