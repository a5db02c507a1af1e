using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Cluster;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference.Data;
using Microsoft.Extensions.DependencyInjection;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary>
/// <c>asymcdc chaos</c>: starts its own Redis-clustered multi-process cluster, drives open-loop load through the Orleans
/// client, SIGKILLs worker silos (and optionally a frontend) during the load, restarts them as Kubernetes would, and
/// reports lost queries, errors, p99.9 before and during the kill, and the time to recover.
/// </summary>
public sealed class ChaosCommand : AsyncCommand<ChaosCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-w|--workers <N>"), Description("Worker silo processes."), DefaultValue(4)]
        public int Workers { get; init; } = 4;

        [CommandOption("--frontends <N>"), Description("Frontend silo processes (default 1, or 2 with --kill-frontend).")]
        public int? Frontends { get; init; }

        [CommandOption("-n|--queries <N>"), Description("Queries in the measured load."), DefaultValue(1500)]
        public int Queries { get; init; } = 1500;

        [CommandOption("-r|--rate <QPS>"), Description("Open-loop arrival rate, queries per second."), DefaultValue(100.0)]
        public double Rate { get; init; } = 100;

        [CommandOption("--kill <N>"), Description("Worker silos to SIGKILL during the load."), DefaultValue(1)]
        public int Kill { get; init; } = 1;

        [CommandOption("--kill-frontend"), Description("Also SIGKILL one frontend silo; the client fails over to the other.")]
        public bool KillFrontend { get; init; }

        [CommandOption("--freeze-frontend <MS>"), Description("SIGSTOP one frontend silo for MS milliseconds at the kill time (a frozen node: a long GC pause, a paused VM; its connections stay open), then SIGCONT. Keep it below membership's death declaration.")]
        public int? FreezeFrontendMs { get; init; }

        [CommandOption("--kill-at <FRACTION>"), Description("When to kill, as a fraction of the load's duration."), DefaultValue(0.33)]
        public double KillAt { get; init; } = 0.33;

        [CommandOption("--restart-after <MS>"), Description("Delay before a killed silo is started again (a container restart)."), DefaultValue(1000)]
        public int RestartAfterMs { get; init; } = 1000;

        [CommandOption("--restart-nice <N>"), Description("CPU niceness of a restarted silo until it is ready (0..19): on one machine its start-up would otherwise take the cores of the silos serving the load, which on Kubernetes it does not."), DefaultValue(19)]
        public int RestartNice { get; init; } = 19;

        [CommandOption("--kill-nice <N>"), Description("CPU niceness a silo gets just before its SIGKILL (0..19): the kernel frees a killed process's memory in that process's threads, which on Kubernetes run on the dead pod's own CPU and here on the cores of the silos that react."), DefaultValue(19)]
        public int KillNice { get; init; } = 19;

        [CommandOption("-m|--mode <MODE>"), Description("Serving mode of the load."), DefaultValue("asymcdc-compact")]
        public string Mode { get; init; } = "asymcdc-compact";

        [CommandOption("-k <K>"), Description("Data queries per parity group, 2..4."), DefaultValue(2)]
        public int K { get; init; } = 2;

        [CommandOption("--straggler-deadline <MS>"), Description("Each answer is raced against this before a decode, in ms (the floor of the median rule)."), DefaultValue(5)]
        public int StragglerDeadlineMs { get; init; } = 5;

        [CommandOption("--deadline-median-factor <X>"), Description("The straggler deadline is at least X times the recent median latency (0: the fixed deadline alone)."), DefaultValue(3.0)]
        public double DeadlineMedianFactor { get; init; } = 3;

        [CommandOption("--warmup <N>"), Description("Queries sent before the measured load, so that it starts on a warm cluster (JIT, sessions, activations)."), DefaultValue(1000)]
        public int Warmup { get; init; } = 1000;

        [CommandOption("--rehearse"), Description("Before the measured load, SIGKILL and restart one worker (the last) under the warm-up load, so that "
            + "the measured kill is the cluster's second failure: the first failure a process handles runs cold code paths.")]
        public bool Rehearse { get; init; }

        [CommandOption("--hedge-percentile <P>"), Description("The client hedges a call slower than this percentile of its recent latencies through another frontend (ClientHedging; at most 5% of calls)."), DefaultValue(0.99)]
        public double HedgePercentile { get; init; } = 0.99;

        [CommandOption("--no-hedge"), Description("The client does not hedge (each call is sent once, and again only when its gateway connection is lost).")]
        public bool NoHedge { get; init; }

        public ClientHedging? Hedging => NoHedge ? null : new ClientHedging { Percentile = HedgePercentile };

        [CommandOption("--timeout <MS>"), Description("Deadline of each query, in ms."), DefaultValue(5000)]
        public int TimeoutMs { get; init; } = 5000;

        [CommandOption("--run-dir <DIR>"), Description("State file and logs of the drill's cluster."), DefaultValue("runs/chaos")]
        public string RunDirectory { get; init; } = "runs/chaos";

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--silo <DLL>"), Description("The asymcdc-silo.dll to run (default: the silo project's build output).")]
        public string? Silo { get; init; }

        [CommandOption("--json <FILE>"), Description("Also write the report as JSON to FILE.")]
        public string? Json { get; init; }

        [CommandOption("--records <FILE>"), Description("Also write every query (sent ms, latency ms, outcome, error) as CSV to FILE.")]
        public string? Records { get; init; }

        public int FrontendCount => Frontends ?? (KillFrontend || FreezeFrontendMs is not null ? 2 : 1);

        public override ValidationResult Validate()
        {
            if (!ServingModes.TryParse(Mode, out _))
            {
                return ValidationResult.Error($"--mode '{Mode}' is not one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
            }

            if (K is < 2 or > 4)
            {
                return ValidationResult.Error($"-k {K} is outside 2..4");
            }

            if (Kill < 0 || Kill >= Workers)
            {
                return ValidationResult.Error($"--kill {Kill} must be in 0..{Workers - 1}: at least one of the {Workers} workers has to survive");
            }

            if (Rehearse && Workers < 2)
            {
                return ValidationResult.Error("--rehearse needs --workers 2 or more: the rehearsal kills one worker while the others serve");
            }

            if (FreezeFrontendMs is { } freeze && (freeze is < 1 or > 60_000 || KillFrontend || FrontendCount < 2))
            {
                return ValidationResult.Error($"--freeze-frontend {freeze} must be in 1..60000 ms, without --kill-frontend, and needs --frontends 2 or more: the client fails over to a live frontend");
            }

            if (KillFrontend && FrontendCount < 2)
            {
                return ValidationResult.Error("--kill-frontend needs --frontends 2 or more: the client fails over to a surviving frontend");
            }

            if (HedgePercentile is <= 0 or >= 1)
            {
                return ValidationResult.Error($"--hedge-percentile {HedgePercentile} must be in (0, 1), e.g. 0.99 (or --no-hedge)");
            }

            if (Queries < 10 || Warmup < 0 || Rate <= 0 || KillAt is <= 0 or >= 1 || RestartAfterMs < 0 || TimeoutMs <= StragglerDeadlineMs
                || StragglerDeadlineMs <= 0 || DeadlineMedianFactor < 0 || RestartNice is < 0 or > 19 || KillNice is < 0 or > 19)
            {
                return ValidationResult.Error("--queries ≥ 10, --warmup ≥ 0, --rate > 0, --kill-at in (0, 1), --restart-after ≥ 0, --deadline-median-factor ≥ 0, --restart-nice and --kill-nice in 0..19, "
                    + "and --timeout longer than --straggler-deadline (> 0)");
            }

            return ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Redirected output has no width; the tables need about 140 columns.
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 140);
        var mode = ServingModes.Parse(settings.Mode);
        var data = FashionMnist.LoadTestSet();
        var options = new ProcessClusterOptions
        {
            Workers = settings.Workers,
            Frontends = settings.FrontendCount,
            RunDirectory = settings.RunDirectory,
            ModelRepository = settings.Models,
            SiloDll = settings.Silo,
        };
        options.Settings["AsymCdc:Serving:K"] = settings.K.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:StragglerDeadline"] = TimeSpan.FromMilliseconds(settings.StragglerDeadlineMs).ToString();
        options.Settings["AsymCdc:Serving:StragglerDeadlineMedianFactor"] = settings.DeadlineMedianFactor.ToString(CultureInfo.InvariantCulture);
        options.Settings["AsymCdc:Serving:RequestTimeout"] = TimeSpan.FromMilliseconds(settings.TimeoutMs).ToString();

        AnsiConsole.MarkupLine($"[bold]AsymCDC chaos drill[/]: Redis + {options.Frontends} frontend + {options.Workers} worker processes, "
            + $"{settings.Queries} {mode.ToName()} queries at {settings.Rate:0}/s; SIGKILL {settings.Kill} worker(s)"
            + (settings.KillFrontend ? " and 1 frontend" : "") + (settings.FreezeFrontendMs is { } frozenMs ? $", SIGSTOP 1 frontend for {frozenMs} ms" : "")
            + $" at {settings.KillAt:P0} of the load");
        AnsiConsole.MarkupLine(Markup.Escape(DrillConditions(settings)));
        ProcessCluster? cluster = null;
        // try/finally covers errors; the exit hook covers SIGTERM, SIGHUP and Ctrl-C to this process. While the cluster
        // starts, `cluster` is still null: the hook then stops what the state file lists as launched so far.
        using var exitHook = new ExitHook(() => (cluster ?? ProcessCluster.Attach(settings.RunDirectory))?.DisposeAsync().AsTask().GetAwaiter().GetResult());
        try
        {
            cluster = await AnsiConsole.Status().StartAsync($"Starting the cluster in {settings.RunDirectory}...",
                _ => ProcessCluster.StartAsync(options, cancellationToken));
            // The client fails a call still unanswered a second after its deadline (a frontend died with it in flight).
            await using var connection = await ClusterConnection.ConnectAsync(cluster.State,
                TimeSpan.FromMilliseconds(settings.TimeoutMs) + TimeSpan.FromSeconds(1), hedging: settings.Hedging, cancellationToken: cancellationToken);
            var load = new ChaosLoad(connection.Predictions, data);
            var timeout = TimeSpan.FromMilliseconds(settings.TimeoutMs);

            // Warm-up (not measured): activates the groups and the workers' sessions on every silo, and runs long enough
            // for the JIT to tier up, so that "before" is the steady state the kill is compared with.
            await load.RunAsync(mode, Math.Max(settings.Warmup, 4 * (settings.K + 1) * settings.Workers), settings.Rate, timeout, Stopwatch.GetTimestamp(), cancellationToken);

            if (settings.Rehearse)
            {
                await AnsiConsole.Status().StartAsync($"Rehearsal: SIGKILL worker-{settings.Workers - 1} under the warm-up load, restart it...",
                    _ => RehearseAsync(cluster, load, mode, settings, timeout, cancellationToken));
            }

            var victims = Enumerable.Range(0, settings.Kill).Select(i => $"worker-{i}").ToList();
            if (settings.KillFrontend)
            {
                victims.Add("frontend-0");
            }

            var duration = TimeSpan.FromSeconds(settings.Queries / settings.Rate);
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
            var freeze = settings.FreezeFrontendMs is { } ms ? ("frontend-0", TimeSpan.FromMilliseconds(ms)) : default((string, TimeSpan)?);
            var drill = ChaosDrill.KillAndRestartAsync(cluster, victims, duration * settings.KillAt, TimeSpan.FromMilliseconds(settings.RestartAfterMs),
                settings.RestartNice, settings.KillNice, start, cancellationToken, freeze);
            var records = await AnsiConsole.Status().StartAsync($"Load for {duration.TotalSeconds:0} s, kills at {(duration * settings.KillAt).TotalSeconds:0.0} s...",
                _ => load.RunAsync(mode, settings.Queries, settings.Rate, timeout, start, cancellationToken));
            var loadEndMs = Stopwatch.GetElapsedTime(start).TotalMilliseconds;
            probe.Dispose();
            var (stalls, clientGc) = (probe.Stalls, probe.GcSinceStart);
            var (killMs, replacedMs) = await drill;
            var report = ChaosReport.Compute(records, killMs, replacedMs <= loadEndMs ? replacedMs : null, stalls);
            var (resent, respreads, kept, hedged, hedgeWins, withheld, suspected, resentOnSuspicion) = connection.Predictions.Counters - countersBefore;
            double? lossSeenMs = gatewayLossMs is { IsCompletedSuccessfully: true } ? Math.Round(gatewayLossMs.Result - killMs, 1) : null;

            AnsiConsole.Write(Table(report, killMs, replacedMs));
            if (report.P999Ratio is { } ratio)
            {
                AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"p99.9 during ÷ before: {ratio:0.00}× (target: within {ChaosReport.TargetRatio:0}×, {(report.WithinTarget == true ? "met" : "missed")})."));
            }

            if (report.SlowestDuring.Count > 0)
            {
                AnsiConsole.MarkupLine("Slowest during: " + string.Join(", ", report.SlowestDuring.Select(a =>
                    string.Create(CultureInfo.InvariantCulture, $"{a.LatencyMs:0.0} ms sent at {a.SentSeconds:0.00} s ({a.ServedBy ?? "?"}; client stalled {a.ClientStalledMs:0.0} ms meanwhile)"))) + ".");
            }

            var longestStalls = stalls.OrderByDescending(x => x.Ms).Take(10).ToList();
            AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                $"Client process: {stalls.Count} stall(s) of {ClientStallThreshold.TotalMilliseconds:0} ms or more during the load")
                + (longestStalls.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $", the longest {longestStalls[0].Ms:0.0} ms ({longestStalls[0].Kind}, GC {longestStalls[0].GcMs:0.0} ms) at {longestStalls[0].AtMs / 1000:0.00} s") : "")
                + string.Create(CultureInfo.InvariantCulture, $"; GC: {clientGc.Gen0}/{clientGc.Gen1}/{clientGc.Gen2} collections (gen 0/1/2), {clientGc.PauseMs:0.0} ms paused."));

            if (resent > 0)
            {
                AnsiConsole.MarkupLine($"{resent} call(s) sent again through a live gateway after a gateway connection was lost.");
            }

            if (lossSeenMs is { } seen)
            {
                AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture, $"The client saw the gateway connection drop {seen:0.0} ms after the kill signal."));
            }

            if (respreads > 0)
            {
                AnsiConsole.MarkupLine($"The client moved to fresh frontend keys {respreads} time(s); {kept} slot(s) kept their key, its fresh one unanswered within {AsymCdcClient.KeyWarmupLimit.TotalSeconds:0} s.");
            }

            if (settings.Hedging is not null)
            {
                AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
                    $"Client hedging (p{settings.HedgePercentile * 100:0.#}, delay {hedgeDelayBefore?.TotalMilliseconds:0.0} ms when the load began): {hedged} call(s) hedged ({100.0 * hedged / Math.Max(1, report.Queries):0.0}%), {hedgeWins} answered first by the hedge, {withheld} withheld by the budget; a frontend suspected {suspected} time(s), {resentOnSuspicion} call(s) out through it sent again."));
            }

            if (settings.Json is { } path)
            {
                var json = new
                {
                    config = new
                    {
                        workers = options.Workers,
                        frontends = options.Frontends,
                        queries = settings.Queries,
                        rate_qps = settings.Rate,
                        mode = mode.ToName(),
                        k = settings.K,
                        straggler_deadline_ms = settings.StragglerDeadlineMs,
                        deadline_median_factor = settings.DeadlineMedianFactor,
                        warmup = settings.Warmup,
                        timeout_ms = settings.TimeoutMs,
                        killed = victims,
                        frozen = freeze?.Item1,
                        freeze_ms = settings.FreezeFrontendMs,
                        restart_after_ms = settings.RestartAfterMs,
                        restart_nice = settings.RestartNice,
                        kill_nice = settings.KillNice,
                        silo_runtime_settings = SiloRuntimeEnvironment.Variables,
                        rehearsed = settings.Rehearse,
                        hedge_percentile = settings.Hedging?.Percentile,
                    },
                    load_started_utc = startedUtc,
                    kill_at_s = Math.Round(killMs / 1000, 2),
                    replaced_at_s = Math.Round(replacedMs / 1000, 2),
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
                    gateway_loss_seen_ms = lossSeenMs,
                    hedge_delay_ms_at_start = hedgeDelayBefore is { } d ? Math.Round(d.TotalMilliseconds, 2) : (double?)null,
                    hedged,
                    hedge_wins = hedgeWins,
                    hedges_withheld = withheld,
                    frontend_suspicions = suspected,
                    resent_on_suspicion = resentOnSuspicion,
                    client_stalls = stalls.Count,
                    client_stalls_longest = longestStalls,
                    client_gc = clientGc,
                };
                await File.WriteAllTextAsync(path, JsonSerializer.Serialize(json, new JsonSerializerOptions { WriteIndented = true }), cancellationToken);
                AnsiConsole.MarkupLine($"Report written to [grey]{Markup.Escape(path)}[/].");
            }

            if (settings.Records is { } csv)
            {
                await File.WriteAllLinesAsync(csv, ["sent_ms,latency_ms,outcome,error,served_by,server_ms,group,worker,frontend", .. records.Select(r =>
                    string.Create(CultureInfo.InvariantCulture,
                        $"{r.SentMs:0.###},{r.LatencyMs:0.###},{r.Outcome},{r.Error},{r.ServedBy?.ToName()},{r.ServerMs:0.###},{r.GroupId},{r.Worker},{r.Frontend}"))], cancellationToken);
                AnsiConsole.MarkupLine($"Records written to [grey]{Markup.Escape(csv)}[/].");
            }

            return report.Lost == 0 && report.Answered + report.Errors == report.Queries ? 0 : 1;
        }
        finally
        {
            if (cluster is not null && exitHook.Claim())
            {
                await AnsiConsole.Status().StartAsync("Stopping the cluster...", _ => cluster.DownAsync(CancellationToken.None));
            }
        }
    }

    /// <summary>What the drill's silos run with, and what it emulates of separate nodes: stated in every report.</summary>
    public static string DrillConditions(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var runtime = SiloRuntimeEnvironment.Variables.Count == 0
            ? ".NET's defaults"
            : string.Join(" ", SiloRuntimeEnvironment.Variables.Select(v => $"{v.Key}={v.Value}"));
        var nodes = settings.KillNice == 0 && settings.RestartNice == 0
            ? "none (every silo shares this machine's cores as it is)"
            : $"a killed silo at nice {settings.KillNice} for its teardown, a restarted one at nice {settings.RestartNice} until ready (--kill-nice/--restart-nice 0: off)";
        return $"Silo runtime settings: those of the image and the chart ({runtime}). Separate nodes emulated: {nodes}.";
    }

    /// <summary>The shortest stall of the drill's own process that the report records.</summary>
    private static readonly TimeSpan ClientStallThreshold = TimeSpan.FromMilliseconds(5);

    /// <summary>Kills the last worker one second into a warm-up load and keeps that load going until its replacement is
    /// ready (by then Orleans has declared the killed process dead), then two seconds more.</summary>
    private static async Task RehearseAsync(ProcessCluster cluster, ChaosLoad load, ServingMode mode, Settings settings, TimeSpan timeout,
        CancellationToken cancellationToken)
    {
        var rehearsal = ChaosDrill.KillAndRestartAsync(cluster, [$"worker-{settings.Workers - 1}"], TimeSpan.FromSeconds(1),
            TimeSpan.FromMilliseconds(settings.RestartAfterMs), settings.RestartNice, settings.KillNice, Stopwatch.GetTimestamp(), cancellationToken);
        var second = Math.Max(1, (int)settings.Rate);
        while (!rehearsal.IsCompleted)
        {
            await load.RunAsync(mode, second, settings.Rate, timeout, Stopwatch.GetTimestamp(), cancellationToken);
        }

        await rehearsal;
        await load.RunAsync(mode, 2 * second, settings.Rate, timeout, Stopwatch.GetTimestamp(), cancellationToken);
    }

    private static Table Table(ChaosReport r, double killMs, double replacedMs)
    {
        var table = new Table().Title($"Chaos drill (kill at {killMs / 1000:0.0} s, replacements ready at {replacedMs / 1000:0.0} s)");
        foreach (var column in new[] { "queries", "answered", "errors", "lost", "p50 before", "p99.9 before", "p50 during", "p99.9 during", "recovery (s)" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        table.AddRow($"{r.Queries}", $"{r.Answered}", $"{r.Errors}", $"{r.Lost}", F(r.P50MsBefore), F(r.P999MsBefore), F(r.P50MsDuring),
            F(r.P999MsDuring), r.RecoverySeconds is { } s ? F(s) : "not recovered");
        if (r.ErrorsByKind.Count > 0)
        {
            table.Caption("errors: " + string.Join(", ", r.ErrorsByKind.Select(e => $"{e.Key} {e.Value}")));
        }

        return table;
    }

    private static string F(double v) => v.ToString("0.0", CultureInfo.InvariantCulture);
}
