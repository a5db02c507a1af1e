using AsymCdc.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace AsymCdc.Grains.Tests;

/// <summary>The deadline, shadow and telemetry settings: a bad value is refused at start-up, naming the key.</summary>
public sealed class ObservabilityOptionsTests
{
    [Theory]
    [InlineData("Deadline", "median", "AsymCdc:Serving:Deadline = 'median' is unknown; expected fixed, adaptive or quantile")]
    [InlineData("TriggerQuantile", "1.5", "AsymCdc:Serving:TriggerQuantile = 1.5 must be in (0, 1)")]
    [InlineData("SlowWorkerFactor", "0.5", "AsymCdc:Serving:SlowWorkerFactor = 0.5 must be 0 (off) or above 1")]
    [InlineData("AutoMinAgreement", "1.5", "AsymCdc:Serving:AutoMinAgreement = 1.5 must be a fraction in [0, 1]")]
    [InlineData("AdaptiveDeadlineQuantile", "1", "AsymCdc:Serving:AdaptiveDeadlineQuantile = 1 must be in (0, 1)")]
    [InlineData("AdaptiveDeadlineFloor", "00:00:00", "AsymCdc:Serving:AdaptiveDeadlineFloor")]
    [InlineData("AdaptiveDeadlineCap", "00:00:00.001", "must satisfy 0 < floor <= cap")]
    [InlineData("AdaptiveDeadlineWindow", "00:00:00", "AsymCdc:Serving:AdaptiveDeadlineWindow")]
    [InlineData("ShadowSampleRate", "2", "AsymCdc:Serving:ShadowSampleRate = 2 must be a fraction in [0, 1]")]
    public void A_bad_setting_is_named_in_one_line(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { [$"{ServingOptions.SectionName}:{key}"] = value }).Build();
        var options = configuration.GetSection(ServingOptions.SectionName).Get<ServingOptions>()!;

        var result = new ServingOptionsValidator().Validate(null, options);

        Assert.Contains(expected, Assert.Single(result.Failures!));
    }

    [Theory]
    [InlineData("fixed", false)]
    [InlineData("adaptive", true)]
    [InlineData("Adaptive", true)]
    public void The_deadline_kind_is_read_case_insensitively(string kind, bool adaptive)
    {
        var options = new ServingOptions { Deadline = kind };

        Assert.True(new ServingOptionsValidator().Validate(null, options).Succeeded);
        Assert.Equal(adaptive, options.IsAdaptiveDeadline);
    }

    [Fact]
    public void A_bad_otlp_endpoint_is_refused_naming_the_key()
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?> { ["AsymCdc:Telemetry:OtlpEndpoint"] = "collector:4317" }).Build();

        var e = Assert.Throws<OptionsValidationException>(() => new ServiceCollection().AddAsymCdcTelemetry(configuration));

        Assert.Contains("AsymCdc:Telemetry:OtlpEndpoint = 'collector:4317' is not an http(s) URL", Assert.Single(e.Failures));
    }
}
