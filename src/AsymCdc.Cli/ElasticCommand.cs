using System.ComponentModel;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Cli.Cluster;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary>
/// <c>asymcdc elastic</c>: starts its own Redis-clustered multi-process cluster and runs an <see cref="ElasticRun"/> against
/// it (open-loop load while workers go 4 → 6 → 3 → 4 and frontends 2 → 3 → 2, then an overload and a scale-out), then
/// prints each phase and the checks of the targets.
/// </summary>
public sealed class ElasticCommand : AsyncCommand<ElasticCommand.Settings>
{
    public sealed class Settings : DrillSettings
    {
        [CommandOption("-r|--rate <QPS>"), Description("Open-loop arrival rate of the scaling phases, queries per second (default: 50 with --worker-cpu-scope runners, 100 with process).")]
        public double? Rate { get; init; }

        [CommandOption("--overload-rate <QPS>"), Description("Arrival rate of the overload phases: above what 4 workers serve (default: 150 with runners, 350 with process).")]
        public double? OverloadRate { get; init; }

        [CommandOption("--hold <S>"), Description("Seconds each phase holds its load once its scaling is done (at least 10: the worker share and queue delay are measured over the last 10 s, when a new worker's CPU limit applies)."), DefaultValue(20.0)]
        public double HoldSeconds { get; init; } = 20;

        [CommandOption("--worker-cpu <CORES>"), Description("CPU limit of each worker, in cores, applied with a cgroup quota (to what --worker-cpu-scope says): on one machine it gives each worker a capacity of its own (0: none; default: 0.04 with runners, 0.1 with process).")]
        public double? WorkerCpu { get; init; }

        [CommandOption("--worker-cpu-scope <SCOPE>"), Description("What --worker-cpu limits: runners (only the threads that run its models: its accelerator, emulated; needs cgroup v1) or process (the whole silo, as Kubernetes limits a pod: its host work too)."), DefaultValue(WorkerCpuScope.Runners)]
        public WorkerCpuScope WorkerCpuScope { get; init; } = WorkerCpuScope.Runners;

        [CommandOption("--warmup <N>"), Description("Queries sent before the measured load (every silo's JIT tiers up meanwhile)."), DefaultValue(3000)]
        public int Warmup { get; init; } = 3000;

        [CommandOption("--run-dir <DIR>"), Description("State file and logs of the drill's cluster."), DefaultValue("runs/elastic")]
        public string RunDirectory { get; init; } = "runs/elastic";

        [CommandOption("-s|--set <KEY=VALUE>"), Description(SetOption.Description)]
        public string[]? Set { get; init; }

        [CommandOption("--json <FILE>"), Description("Also write the report as JSON to FILE.")]
        public string? Json { get; init; }

        [CommandOption("--records <FILE>"), Description("Also write every measured query (its phase, sent ms, latency ms, outcome, error, served by, the frontend's time, group, worker, frontend) as CSV to FILE.")]
        public string? Records { get; init; }

        public override ValidationResult Validate()
        {
            if (ValidateModeAndK() is { } invalid)
            {
                return invalid;
            }

            if (SetOption.Validate(Set) is { } invalidSet)
            {
                return invalidSet;
            }

            var drill = ToOptions(this);
            return drill.Rate <= 0 || drill.OverloadRate <= drill.Rate || HoldSeconds < 10 || WorkerCpu < 0 || Warmup < 0 || TimeoutMs < 1
                ? ValidationResult.Error("--rate > 0, --overload-rate above --rate, --hold ≥ 10, --worker-cpu ≥ 0, --warmup ≥ 0, --timeout ≥ 1")
                : ValidationResult.Success();
        }
    }

    public static ElasticRunOptions ToOptions(Settings settings)
    {
        ArgumentNullException.ThrowIfNull(settings);
        var defaults = ElasticRunOptions.For(settings.WorkerCpuScope);
        return new ElasticRunOptions
        {
            Rate = settings.Rate ?? defaults.Rate,
            OverloadRate = settings.OverloadRate ?? defaults.OverloadRate,
            HoldSeconds = settings.HoldSeconds,
            WorkerCpu = (settings.WorkerCpu ?? defaults.WorkerCpu) is > 0 and var cores ? cores : null,
            WorkerCpuScope = settings.WorkerCpuScope,
            Mode = ServingModes.Parse(settings.Mode),
            K = settings.K,
            Warmup = settings.Warmup,
            TimeoutMs = settings.TimeoutMs,
            RunDirectory = settings.RunDirectory,
            Models = settings.Models,
            Silo = settings.Silo,
            Settings = SetOption.Parse(settings.Set),
        };
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 180);
        var drill = ToOptions(settings);
        AnsiConsole.MarkupLine($"[bold]AsymCDC elastic drill[/]: Redis + {drill.Frontends} frontend + {drill.Workers} worker processes, "
            + $"{drill.Mode.ToName()} at {drill.Rate:0} queries/s (overload {drill.OverloadRate:0}/s), each phase held {drill.HoldSeconds:0} s; "
            + (drill.WorkerCpu is { } cpu ? $"each worker's {(drill.WorkerCpuScope == WorkerCpuScope.Runners ? "runner threads" : "process")} limited to {cpu.ToString(CultureInfo.InvariantCulture)} cores (cgroup quota)" : "no worker CPU limit"));
        ProcessCluster? cluster = null;
        using var exitHook = new ExitHook(() => (cluster ?? ProcessCluster.Attach(settings.RunDirectory))?.DisposeAsync().AsTask().GetAwaiter().GetResult());
        try
        {
            cluster = await AnsiConsole.Status().StartAsync($"Starting the cluster in {settings.RunDirectory}...",
                _ => ProcessCluster.StartAsync(drill.ClusterOptions(), cancellationToken));
            var started = cluster;
            var result = await AnsiConsole.Status().StartAsync("Connecting...",
                status => ElasticRun.RunAsync(started, drill, phase => status.Status(Markup.Escape(phase)), cancellationToken));
            Print(result);
            if (settings.Json is { } path)
            {
                await File.WriteAllTextAsync(path, result.ToJson(), cancellationToken);
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

    private static void Print(ElasticRunResult result)
    {
        var table = new Table().Title($"Elastic drill: {result.Queries} queries, {result.Answered} answered, {result.Errors} errors, {result.Lost} lost "
            + $"(HPA target: mean worker queue delay {result.HpaTarget * 1000:0.#} ms)");
        foreach (var column in new[] { "phase", "workers", "frontends", "rate", "scale (s)", "queries", "errors", "lost", "p50", "p99", "p99.9", "qps", "queue delay (ms)", "HPA wants", "min worker share", "throttled" })
        {
            table.AddColumn(new TableColumn(column).RightAligned());
        }

        foreach (var p in result.Phases)
        {
            table.AddRow(Markup.Escape(p.Name), $"{p.Workers}", $"{p.Frontends}", F(p.RateQps, "0"), F(p.ScaleSeconds, "0.0"), $"{p.Queries}", $"{p.Errors}", $"{p.Lost}",
                F(p.P50Ms, "0.0"), F(p.P99Ms, "0.0"), F(p.P999Ms, "0.0"), F(p.ThroughputQps, "0"),
                (p.AboveHpaTarget ? "[red]" : "") + F(p.QueueDelaySeconds * 1000, "0.00") + (p.AboveHpaTarget ? "[/]" : ""), $"{p.HpaDesiredWorkers}", F(p.MinWorkerShare, "0.00"),
                p.WorkerThrottledShare is { } throttled ? F(throttled, "0%") : "-");
        }

        AnsiConsole.Write(table);
        AnsiConsole.MarkupLine($"Client: {result.ResentOnRefusal} call(s) sent again after a leaving frontend refused them, {result.ResentAfterGatewayLoss} after a gateway connection closed.");
        foreach (var failure in result.CpuLimitFailures)
        {
            AnsiConsole.MarkupLine($"[red]CPU limit not applied[/]: {Markup.Escape(failure)}");
        }

        foreach (var (check, ok) in result.Checks)
        {
            AnsiConsole.MarkupLine($"{(ok ? "[green]met[/]   " : "[red]missed[/]")} {Markup.Escape(check)}");
        }
    }

    private static string F(double v, string format) => double.IsNaN(v) ? "-" : v.ToString(format, CultureInfo.InvariantCulture);
}
