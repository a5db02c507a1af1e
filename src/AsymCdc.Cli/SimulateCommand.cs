using System.ComponentModel;
using System.Globalization;
using AsymCdc.Cli.Bench;
using AsymCdc.Simulation;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary><c>asymcdc simulate</c>: the serving policies in virtual time at any scale (AsymCdc.Simulation), or with
/// <c>--fidelity</c> the simulator against a real bench on this machine.</summary>
public sealed class SimulateCommand : AsyncCommand<SimulateCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("-s|--scenario <NAME>"), Description("A named scenario: cpu-4-workers, gpu-100-stragglers-1pct, gpu-100-stragglers-5pct, gpu-100-slow-node, gpu-1000-node-death.")]
        public string? Scenario { get; init; }

        [CommandOption("--config <FILE>"), Description("A scenario as JSON (the 'scenario' object of a results.json).")]
        public string? Config { get; init; }

        [CommandOption("-w|--workers <N>"), Description("Workers (default: the scenario's).")]
        public int? Workers { get; init; }

        [CommandOption("-n|--queries <N>"), Description("Queries per mode and load (default: the scenario's).")]
        public int? Queries { get; init; }

        [CommandOption("-l|--load <LOADS>"), Description("Loads, comma-separated fractions of capacity (default: the scenario's).")]
        public string? Load { get; init; }

        [CommandOption("-m|--modes <MODES>"), Description("Modes, comma-separated (default: the scenario's, every mode in the named ones).")]
        public string? Modes { get; init; }

        [CommandOption("--trigger-quantile <Q>"), Description("The quantile trigger's quantile of own-answer times, in (0, 1) (AsymCdc:Serving:TriggerQuantile; default: the scenario's, the product's 0.9).")]
        public double? TriggerQuantile { get; init; }

        [CommandOption("--seed <SEED>"), Description("Seed of arrivals, service times and faults (default: the scenario's).")]
        public int? Seed { get; init; }

        [CommandOption("-o|--out <DIR>"), Description("Folder for results.json, results.md and latency.png (and fidelity.json)."), DefaultValue("simulate-results")]
        public string Out { get; init; } = "simulate-results";

        [CommandOption("--json <FILE>"), Description("Write the results JSON to this file alone (no folder).")]
        public string? Json { get; init; }

        [CommandOption("--fidelity"), Description("Run the real bench (4 workers, 1% and 5% stragglers, near 70% of measured capacity) and the simulator on its measured service times; write fidelity.json.")]
        public bool Fidelity { get; init; }

        [CommandOption("--models <DIR>"), Description("Model repository for --fidelity (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        public override ValidationResult Validate() =>
            Fidelity || (Scenario is null) != (Config is null) ? ValidationResult.Success()
            : ValidationResult.Error("name one of --scenario NAME or --config FILE (or --fidelity); the scenarios: "
                + string.Join(", ", AsymCdc.Simulation.Scenarios.All.Select(static s => s.Name)));
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken cancellationToken)
    {
        if (settings.Fidelity)
        {
            return await FidelityAsync(settings, cancellationToken);
        }

        var config = Resolve(settings);
        var problem = config.Problem();
        if (problem is not null)
        {
            AnsiConsole.MarkupLineInterpolated($"[red]simulate: {problem}[/]");
            return 2;
        }

        var report = Run(config);
        if (settings.Json is not null)
        {
            await File.WriteAllTextAsync(settings.Json, report.ToJson(), cancellationToken);
            AnsiConsole.WriteLine($"Wrote {settings.Json}");
            return 0;
        }

        Directory.CreateDirectory(settings.Out);
        await File.WriteAllTextAsync(Path.Combine(settings.Out, "results.json"), report.ToJson(), cancellationToken);
        await File.WriteAllTextAsync(Path.Combine(settings.Out, "results.md"), SimulationMarkdown.Write(report), cancellationToken);
        SimulationPlot.Save(report, Path.Combine(settings.Out, "latency.png"));
        AnsiConsole.Write(new Markup(Markup.Escape(SimulationMarkdown.Write(report))));
        AnsiConsole.WriteLine($"Wrote results.json, results.md and latency.png to {Path.GetFullPath(settings.Out)}");
        return 0;
    }

    private static async Task<int> FidelityAsync(Settings settings, CancellationToken cancellationToken)
    {
        var fidelity = await FidelityRun.RunAsync(settings.Out, settings.Models, settings.Queries,
            note => AnsiConsole.MarkupLine($"[grey]{Markup.Escape(note)}[/]"), Run, cancellationToken);
        var table = new Table().Title("Fidelity: simulated ÷ measured (ms)");
        foreach (var column in (string[])["scenario", "mode", "metric", "measured", "simulated", "ratio"])
        {
            table.AddColumn(column);
        }

        foreach (var r in fidelity.Rows)
        {
            table.AddRow(r.Scenario, r.Mode, r.Metric, F(r.MeasuredMs), F(r.SimulatedMs), F(r.Ratio));
        }

        AnsiConsole.Write(table);
        AnsiConsole.WriteLine($"Wrote fidelity.json and bench.json to {Path.GetFullPath(settings.Out)}");
        return 0;
    }

    private static string F(double v) => v.ToString("0.00", CultureInfo.InvariantCulture);

    /// <summary>Runs <paramref name="config"/> with a progress bar on the console.</summary>
    public static SimulationReport Run(SimulationConfig config)
    {
        SimulationReport? report = null;
        AnsiConsole.Progress().AutoClear(true).Start(progress =>
        {
            var task = progress.AddTask($"simulate {config.Name}", maxValue: (double)config.Queries * config.Modes.Count * config.Loads.Count);
            report = new Simulator(config) { OnProgress = (done, _) => task.Value = done }.Run();
        });
        return report!;
    }

    private static SimulationConfig Resolve(Settings settings)
    {
        var config = settings.Config is not null
            ? SimulationReport.ReadConfig(File.ReadAllText(settings.Config))
            : Scenarios.Find(settings.Scenario!) ?? throw new ArgumentException(
                $"unknown scenario '{settings.Scenario}'; expected one of: {string.Join(", ", Scenarios.All.Select(s => s.Name))}");
        return config with
        {
            Workers = settings.Workers ?? config.Workers,
            Queries = settings.Queries ?? config.Queries,
            Seed = settings.Seed ?? config.Seed,
            Loads = settings.Load is null ? config.Loads : [.. Split(settings.Load).Select(l => double.Parse(l, CultureInfo.InvariantCulture))],
            Modes = settings.Modes is null ? config.Modes : [.. Split(settings.Modes)],
            Policy = settings.TriggerQuantile is { } q ? config.Policy with { TriggerQuantile = q } : config.Policy,
        };
    }

    private static string[] Split(string list) => list.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
}
