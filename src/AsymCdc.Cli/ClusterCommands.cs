using System.ComponentModel;
using AsymCdc.Cli.Cluster;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary>Options every <c>asymcdc cluster</c> command takes.</summary>
public class ClusterSettings : CommandSettings
{
    [CommandOption("--run-dir <DIR>"), Description("Folder with the cluster's state file (cluster.json), Redis files and logs."), DefaultValue(ProcessClusterOptions.DefaultRunDirectory)]
    public string RunDirectory { get; init; } = ProcessClusterOptions.DefaultRunDirectory;
}

/// <summary><c>asymcdc cluster up</c>: Redis + F frontend + N worker silo processes on this machine, ready when it returns.</summary>
public sealed class ClusterUpCommand : AsyncCommand<ClusterUpCommand.Settings>
{
    public sealed class Settings : ClusterSettings
    {
        [CommandOption("-w|--workers <N>"), Description("Worker silo processes (a parity group of k needs k+1)."), DefaultValue(4)]
        public int Workers { get; init; } = 4;

        [CommandOption("--frontends <N>"), Description("Frontend silo processes (Orleans gateways, HTTP gateway)."), DefaultValue(1)]
        public int Frontends { get; init; } = 1;

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--silo <DLL>"), Description("The asymcdc-silo.dll to run (default: the silo project's build output; or set ASYMCDC_SILO).")]
        public string? Silo { get; init; }

        [CommandOption("-s|--set <KEY=VALUE>"), Description(SetOption.Description)]
        public string[]? Set { get; init; }

        [CommandOption("--ready-timeout <S>"), Description("Seconds each silo may take to become ready."), DefaultValue(180)]
        public int ReadyTimeoutSeconds { get; init; } = 180;

        public override ValidationResult Validate()
        {
            if (Workers < 1 || Frontends < 1)
            {
                return ValidationResult.Error("--workers and --frontends must be at least 1");
            }

            if (SetOption.Validate(Set) is { } invalid)
            {
                return invalid;
            }

            return ReadyTimeoutSeconds < 1 ? ValidationResult.Error("--ready-timeout must be at least 1 second") : ValidationResult.Success();
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        // Redirected output has no width; the tables need about 140 columns.
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 140);
        var options = new ProcessClusterOptions
        {
            Workers = settings.Workers,
            Frontends = settings.Frontends,
            RunDirectory = settings.RunDirectory,
            ModelRepository = settings.Models,
            SiloDll = settings.Silo,
            ReadyTimeout = TimeSpan.FromSeconds(settings.ReadyTimeoutSeconds),
        };
        foreach (var (key, value) in SetOption.Parse(settings.Set))
        {
            options.Settings[key] = value;
        }

        try
        {
            var cluster = await AnsiConsole.Status().StartAsync(
                $"Starting Redis, {options.Frontends} frontend and {options.Workers} worker silos...",
                _ => ProcessCluster.StartAsync(options, cancellationToken));
            AnsiConsole.Write(ClusterStatusCommand.Table(cluster, await cluster.StatusAsync(cancellationToken)));
            AnsiConsole.MarkupLine($"Cluster up. Stop it with [bold]asymcdc cluster down --run-dir {Markup.Escape(settings.RunDirectory)}[/].");
            return 0;
        }
        catch (Exception e) when (e is ClusterStartException or InvalidOperationException or FileNotFoundException or DirectoryNotFoundException or TimeoutException)
        {
            AnsiConsole.MarkupLine($"[red]cluster up failed:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }
}

/// <summary><c>asymcdc cluster down</c>: SIGTERM every process of the cluster, SIGKILL after the drain timeout, verify.</summary>
public sealed class ClusterDownCommand : AsyncCommand<ClusterSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ClusterSettings settings, CancellationToken cancellationToken)
    {
        if (ProcessCluster.Attach(settings.RunDirectory) is not { } cluster)
        {
            AnsiConsole.MarkupLine($"No cluster recorded in [grey]{Markup.Escape(Path.GetFullPath(settings.RunDirectory))}[/]; nothing to stop.");
            return 0;
        }

        try
        {
            var killed = await AnsiConsole.Status().StartAsync("Stopping the cluster (draining frontends)...", _ => cluster.DownAsync(cancellationToken));
            AnsiConsole.MarkupLine(killed.Count == 0
                ? "Cluster down: every process stopped on SIGTERM."
                : $"Cluster down; SIGKILL was needed for: {Markup.Escape(string.Join(", ", killed))}.");
            return 0;
        }
        catch (InvalidOperationException e)
        {
            AnsiConsole.MarkupLine($"[red]cluster down failed:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }
}

/// <summary><c>asymcdc cluster scale</c>: brings a running cluster to N workers and F frontends, as a Deployment scale does.</summary>
public sealed class ClusterScaleCommand : AsyncCommand<ClusterScaleCommand.Settings>
{
    public sealed class Settings : ClusterSettings
    {
        [CommandOption("-w|--workers <N>"), Description("Worker silos wanted (as they are when not given).")]
        public int? Workers { get; init; }

        [CommandOption("--frontends <N>"), Description("Frontend silos wanted (as they are when not given).")]
        public int? Frontends { get; init; }

        public override ValidationResult Validate() =>
            Workers is null && Frontends is null ? ValidationResult.Error("give --workers N and/or --frontends N")
            : Workers is < 1 || Frontends is < 1 ? ValidationResult.Error("--workers and --frontends must be at least 1")
            : ValidationResult.Success();
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        AnsiConsole.Profile.Width = Math.Max(AnsiConsole.Profile.Width, 140);
        if (ProcessCluster.Attach(settings.RunDirectory) is not { } cluster || cluster.RunningPids().Count == 0)
        {
            AnsiConsole.MarkupLine($"[red]No running cluster recorded in[/] [grey]{Markup.Escape(Path.GetFullPath(settings.RunDirectory))}[/]; start one with 'asymcdc cluster up'.");
            return 1;
        }

        try
        {
            var change = await AnsiConsole.Status().StartAsync("Scaling (new silos join warm; leaving ones drain)...",
                _ => cluster.ScaleAsync(settings.Workers, settings.Frontends, cancellationToken: cancellationToken));
            AnsiConsole.Write(ClusterStatusCommand.Table(cluster, await cluster.StatusAsync(cancellationToken)));
            AnsiConsole.MarkupLine($"Added: {Markup.Escape(change.Added.Count == 0 ? "none" : string.Join(", ", change.Added))}; "
                + $"removed: {Markup.Escape(change.Removed.Count == 0 ? "none" : string.Join(", ", change.Removed))}"
                + (change.Killed.Count == 0 ? "." : $" ([red]SIGKILL needed for {Markup.Escape(string.Join(", ", change.Killed))}[/])."));
            return change.Killed.Count == 0 ? 0 : 1;
        }
        catch (Exception e) when (e is ClusterStartException or InvalidOperationException or ArgumentException)
        {
            AnsiConsole.MarkupLine($"[red]cluster scale failed:[/] {Markup.Escape(e.Message)}");
            return 1;
        }
    }
}

/// <summary><c>asymcdc cluster status</c>: each process, whether it runs and whether it is ready.</summary>
public sealed class ClusterStatusCommand : AsyncCommand<ClusterSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, ClusterSettings settings, CancellationToken cancellationToken)
    {
        if (ProcessCluster.Attach(settings.RunDirectory) is not { } cluster)
        {
            AnsiConsole.MarkupLine($"No cluster recorded in [grey]{Markup.Escape(Path.GetFullPath(settings.RunDirectory))}[/].");
            return 1;
        }

        var lines = await cluster.StatusAsync(cancellationToken);
        AnsiConsole.Write(Table(cluster, lines));
        return lines.All(l => l.Ready) ? 0 : 1;
    }

    internal static Table Table(ProcessCluster cluster, IReadOnlyList<(SiloProcessInfo Silo, bool Running, bool Ready)> lines)
    {
        var redis = cluster.State.Redis;
        var redisUp = redis is not null && Processes.IsRunning(redis.Pid, RedisServer.Program);
        var table = new Table().Title($"Cluster in {cluster.RunDirectory} (Redis {redis?.ConnectionString ?? "-"}, pid {redis?.Pid}, {(redisUp ? "running" : "[red]stopped[/]")})");
        foreach (var column in new[] { "silo", "role", "pid", "silo port", "gateway port", "http port", "state", "log" })
        {
            table.AddColumn(column);
        }

        foreach (var (silo, running, ready) in lines)
        {
            var state = ready ? "[green]ready[/]" : running ? "[yellow]not ready[/]" : "[red]stopped[/]";
            table.AddRow(silo.Name, silo.Role, $"{silo.Pid}", $"{silo.SiloPort}", $"{silo.GatewayPort}", $"{silo.HttpPort}", state, Markup.Escape(silo.Log));
        }

        return table;
    }
}
