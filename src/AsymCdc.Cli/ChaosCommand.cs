using System.ComponentModel;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Cluster;
using AsymCdc.Client;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary>
/// <c>asymcdc chaos</c>: starts its own Redis-clustered multi-process cluster and runs a <see cref="ChaosRun"/> against it
/// (open-loop load, SIGKILLs of worker silos and optionally a frontend, restarts), then prints its report.
/// </summary>
public sealed class ChaosCommand : AsyncCommand<ChaosCommand.Settings>
{
    public sealed class Settings : DrillSettings
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

        [CommandOption("--run-dir <DIR>"), Description("State file and logs of the drill's cluster."), DefaultValue("runs/chaos")]
        public string RunDirectory { get; init; } = "runs/chaos";

        [CommandOption("--json <FILE>"), Description("Also write the report as JSON to FILE.")]
        public string? Json { get; init; }

        [CommandOption("--records <FILE>"), Description("Also write every query (sent ms, latency ms, outcome, error) as CSV to FILE.")]
        public string? Records { get; init; }

        public int FrontendCount => Frontends ?? (KillFrontend || FreezeFrontendMs is not null ? 2 : 1);

        public override ValidationResult Validate()
        {
            if (ValidateModeAndK() is { } invalid)
            {
                return invalid;
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

    /// <summary>The library's options from the command line's.</summary>
    public static ChaosRunOptions ToOptions(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        return new ChaosRunOptions
        {
            Workers = settings.Workers,
            Frontends = settings.FrontendCount,
            Queries = settings.Queries,
            Rate = settings.Rate,
            Kill = settings.Kill,
            KillFrontend = settings.KillFrontend,
            FreezeFrontendMs = settings.FreezeFrontendMs,
            KillAt = settings.KillAt,
            RestartAfterMs = settings.RestartAfterMs,
            RestartNice = settings.RestartNice,
            KillNice = settings.KillNice,
            Mode = ServingModes.Parse(settings.Mode),
            K = settings.K,
            StragglerDeadlineMs = settings.StragglerDeadlineMs,
            DeadlineMedianFactor = settings.DeadlineMedianFactor,
            Warmup = settings.Warmup,
            Rehearse = settings.Rehearse,
            Hedging = settings.Hedging,
            TimeoutMs = settings.TimeoutMs,
            RunDirectory = settings.RunDirectory,
            Models = settings.Models,
            Silo = settings.Silo,
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Redirected output has no width; the tables need about 140 columns.
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 140);
        var drill = ToOptions(settings);
        AnsiConsole.MarkupLine($"[bold]AsymCDC chaos drill[/]: Redis + {drill.Frontends} frontend + {drill.Workers} worker processes, "
            + $"{settings.Queries} {drill.Mode.ToName()} queries at {settings.Rate:0}/s; SIGKILL {settings.Kill} worker(s)"
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
                _ => ProcessCluster.StartAsync(drill.ClusterOptions(), cancellationToken));
            var started = cluster;
            var result = await AnsiConsole.Status().StartAsync("Connecting...",
                status => ChaosRun.RunAsync(started, drill, phase => status.Status(Markup.Escape(phase)), cancellationToken));
            Print(result, settings);

            if (settings.Json is { } path)
            {
                await File.WriteAllTextAsync(path, result.ToJson(drill), cancellationToken);
                AnsiConsole.MarkupLine($"Report written to [grey]{Markup.Escape(path)}[/].");
            }

            if (settings.Records is { } csv)
            {
                await File.WriteAllLinesAsync(csv, result.RecordsCsv(), cancellationToken);
                AnsiConsole.MarkupLine($"Records written to [grey]{Markup.Escape(csv)}[/].");
            }

            return result.Passed ? 0 : 1;
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
        return ChaosRun.DrillConditions(settings.KillNice, settings.RestartNice);
    }

    private static void Print(ChaosRunResult result, Settings settings)
    {
        var report = result.Report;
        var (resent, respreads, kept, hedged, hedgeWins, withheld, suspected, resentOnSuspicion, _) = result.Counters;
        AnsiConsole.Write(Table(report, result.KillMs, result.ReplacedMs));
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

        var (stalls, longestStalls, clientGc) = (result.Stalls, result.LongestStalls, result.ClientGc);
        AnsiConsole.MarkupLine(string.Create(CultureInfo.InvariantCulture,
            $"Client process: {stalls.Count} stall(s) of {ChaosRun.ClientStallThreshold.TotalMilliseconds:0} ms or more during the load")
            + (longestStalls.Count > 0 ? string.Create(CultureInfo.InvariantCulture, $", the longest {longestStalls[0].Ms:0.0} ms ({longestStalls[0].Kind}, GC {longestStalls[0].GcMs:0.0} ms) at {longestStalls[0].AtMs / 1000:0.00} s") : "")
            + string.Create(CultureInfo.InvariantCulture, $"; GC: {clientGc.Gen0}/{clientGc.Gen1}/{clientGc.Gen2} collections (gen 0/1/2), {clientGc.PauseMs:0.0} ms paused."));

        if (resent > 0)
        {
            AnsiConsole.MarkupLine($"{resent} call(s) sent again through a live gateway after a gateway connection was lost.");
        }

        if (result.GatewayLossSeenMs is { } seen)
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
                $"Client hedging (p{settings.HedgePercentile * 100:0.#}, delay {result.HedgeDelayAtStart?.TotalMilliseconds:0.0} ms when the load began): {hedged} call(s) hedged ({100.0 * hedged / Math.Max(1, report.Queries):0.0}%), {hedgeWins} answered first by the hedge, {withheld} withheld by the budget; a frontend suspected {suspected} time(s), {resentOnSuspicion} call(s) out through it sent again."));
        }
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
