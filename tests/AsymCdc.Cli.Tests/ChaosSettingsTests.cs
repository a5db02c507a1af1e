
namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc chaos</c> refuses bad options before it starts anything, naming them.</summary>
public sealed class ChaosSettingsTests
{
    [Fact]
    public void The_defaults_are_valid_and_measure_a_steady_state_with_the_median_rule()
    {
        var settings = new ChaosCommand.Settings();

        Assert.True(settings.Validate().Successful);
        Assert.Equal(1000, settings.Warmup);
        Assert.Equal(5, settings.StragglerDeadlineMs);
        Assert.Equal(3, settings.DeadlineMedianFactor);
        Assert.Equal(19, settings.RestartNice);
        Assert.Equal(19, settings.KillNice);
        Assert.False(settings.Rehearse);
        // The drill's client hedges at the p99 (ClientHedging); --no-hedge is the client of the earlier sessions.
        Assert.Equal(0.99, settings.Hedging!.Percentile);
        Assert.Null(new ChaosCommand.Settings { NoHedge = true }.Hedging);
        // A freeze needs a second frontend to fail over to, and starts one by default.
        Assert.Equal(2, new ChaosCommand.Settings { FreezeFrontendMs = 2000 }.FrontendCount);
    }

    [Fact]
    public void The_report_states_the_runtime_settings_and_the_node_emulation()
    {
        Assert.Contains("those of the image and the chart", ChaosCommand.DrillConditions(new ChaosCommand.Settings()), StringComparison.Ordinal);
        Assert.Contains("nice 19", ChaosCommand.DrillConditions(new ChaosCommand.Settings()), StringComparison.Ordinal);
        Assert.Contains("Separate nodes emulated: none", ChaosCommand.DrillConditions(new ChaosCommand.Settings { KillNice = 0, RestartNice = 0 }),
            StringComparison.Ordinal);
    }

    public static TheoryData<ChaosCommand.Settings, string> Bad => new()
    {
        { new ChaosCommand.Settings { RestartNice = 20 }, "--restart-nice" },
        { new ChaosCommand.Settings { RestartNice = -1 }, "--restart-nice" },
        { new ChaosCommand.Settings { KillNice = 20 }, "--kill-nice" },
        { new ChaosCommand.Settings { KillNice = -1 }, "--kill-nice" },
        { new ChaosCommand.Settings { Warmup = -1 }, "--warmup" },
        { new ChaosCommand.Settings { DeadlineMedianFactor = -0.5 }, "--deadline-median-factor" },
        { new ChaosCommand.Settings { StragglerDeadlineMs = 6000 }, "--straggler-deadline" },
        { new ChaosCommand.Settings { Kill = 4 }, "--kill 4" },
        { new ChaosCommand.Settings { KillFrontend = true, Frontends = 1 }, "--kill-frontend" },
        { new ChaosCommand.Settings { Mode = "fastest" }, "--mode 'fastest'" },
        { new ChaosCommand.Settings { Rehearse = true, Workers = 1, Kill = 0 }, "--rehearse" },
        { new ChaosCommand.Settings { HedgePercentile = 1 }, "--hedge-percentile" },
        { new ChaosCommand.Settings { FreezeFrontendMs = 0 }, "--freeze-frontend" },
        { new ChaosCommand.Settings { FreezeFrontendMs = 2000, KillFrontend = true }, "--freeze-frontend" },
        { new ChaosCommand.Settings { FreezeFrontendMs = 2000, Frontends = 1 }, "--freeze-frontend" },
    };

    [Theory]
    [MemberData(nameof(Bad))]
    public void Bad_options_are_refused_naming_the_option(ChaosCommand.Settings settings, string named)
    {
        var result = settings.Validate();

        Assert.False(result.Successful);
        Assert.Contains(named, result.Message, StringComparison.Ordinal);
    }
}
