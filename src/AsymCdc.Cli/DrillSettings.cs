using System.ComponentModel;
using AsymCdc.Abstractions;
using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli;

/// <summary>Options every drill on its own process cluster takes (<c>chaos</c>, <c>elastic</c>): the load's mode and k,
/// each query's deadline, and what the silos run.</summary>
public abstract class DrillSettings : CommandSettings
{
        [CommandOption("-m|--mode <MODE>"), Description("Serving mode of the load."), DefaultValue("asymcdc-compact")]
        public string Mode { get; init; } = "asymcdc-compact";

        [CommandOption("-k <K>"), Description("Data queries per parity group, 2..4."), DefaultValue(2)]
        public int K { get; init; } = 2;

        [CommandOption("--timeout <MS>"), Description("Deadline of each query, in ms."), DefaultValue(5000)]
        public int TimeoutMs { get; init; } = 5000;

        [CommandOption("--models <DIR>"), Description("Model repository (default: models/ found above the working directory).")]
        public string? Models { get; init; }

        [CommandOption("--silo <DLL>"), Description("The asymcdc-silo.dll to run (default: the silo project's build output).")]
        public string? Silo { get; init; }

    /// <summary>The mode and k checks both drills make; null when both are fine.</summary>
    protected ValidationResult? ValidateModeAndK()
    {
        if (!ServingModes.TryParse(Mode, out _))
        {
            return ValidationResult.Error($"--mode '{Mode}' is not one of: {string.Join(", ", ServingModes.All.Select(m => m.ToName()))}");
        }

        return K is < 2 or > 4 ? ValidationResult.Error($"-k {K} is outside 2..4") : null;
    }
}
