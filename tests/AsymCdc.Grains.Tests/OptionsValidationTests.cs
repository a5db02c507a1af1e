using AsymCdc.Hosting;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;

namespace AsymCdc.Grains.Tests;

public sealed class OptionsValidationTests
{
    [Theory]
    [InlineData("K", "5", "AsymCdc:Serving:K = 5 is outside 2..4")]
    [InlineData("K", "1", "AsymCdc:Serving:K = 1 is outside 2..4")]
    [InlineData("DefaultMode", "turbo", "AsymCdc:Serving:DefaultMode = 'turbo' is not a serving mode")]
    [InlineData("GroupWindow", "00:00:00", "AsymCdc:Serving:GroupWindow")]
    [InlineData("StragglerDeadline", "00:00:10", "must be positive and shorter than RequestTimeout")]
    [InlineData("MaxInFlight", "0", "AsymCdc:Serving:MaxInFlight = 0 must be at least 1")]
    [InlineData("StragglerDeadlineMedianFactor", "-1", "AsymCdc:Serving:StragglerDeadlineMedianFactor = -1 must be 0 (off) or positive")]
    [InlineData("NewWorkerParityOnly", "-00:00:01", "AsymCdc:Serving:NewWorkerParityOnly = -00:00:01 must be 0 (off) or positive")]
    [InlineData("HedgePercentile", "1.5", "AsymCdc:Serving:HedgePercentile = 1.5 must be in (0, 1)")]
    public void A_bad_serving_setting_is_named_in_one_line(string key, string value, string expected)
    {
        var options = Bind<ServingOptions>(ServingOptions.SectionName, key, value);

        var result = new ServingOptionsValidator().Validate(null, options);

        var failure = Assert.Single(result.Failures!);
        Assert.Contains(expected, failure);
    }

    [Theory]
    [InlineData("Rate", "1.5", "AsymCdc:Stragglers:Rate = 1.5 must be a fraction in [0, 1]")]
    [InlineData("Rate", "-0.1", "AsymCdc:Stragglers:Rate = -0.1")]
    [InlineData("Delay", "-00:00:01", "AsymCdc:Stragglers:Delay")]
    public void A_bad_straggler_setting_is_named_in_one_line(string key, string value, string expected)
    {
        var options = Bind<StragglerOptions>(StragglerOptions.SectionName, key, value);

        var result = new StragglerOptionsValidator().Validate(null, options);

        Assert.Contains(expected, Assert.Single(result.Failures!));
    }

    [Theory]
    [InlineData("Clustering", "zookeeper", "AsymCdc:Silo:Clustering = 'zookeeper' is not supported")]
    [InlineData("Clustering", "redis", "AsymCdc:Silo:RedisConnectionString is required when AsymCdc:Silo:Clustering = redis")]
    [InlineData("Roles", "frontend,tpu-worker", "AsymCdc:Silo:Roles has unknown role 'tpu-worker'")]
    [InlineData("Roles", "", "AsymCdc:Silo:Roles is empty")]
    [InlineData("SiloPort", "70000", "AsymCdc:Silo:SiloPort = 70000 is not a TCP port")]
    [InlineData("GatewayPort", "11111", "must differ")]
    public void A_bad_silo_setting_is_named_in_one_line(string key, string value, string expected)
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{SiloOptions.SectionName}:{key}"] = value })
            .Build();

        var e = Assert.Throws<OptionsValidationException>(() => SiloOptions.FromConfiguration(configuration));

        Assert.Contains(expected, Assert.Single(e.Failures));
    }

    [Fact]
    public void The_defaults_are_valid()
    {
        Assert.True(new ServingOptionsValidator().Validate(null, new ServingOptions()).Succeeded);
        Assert.True(new StragglerOptionsValidator().Validate(null, new StragglerOptions()).Succeeded);
        Assert.True(new SiloOptionsValidator().Validate(null, new SiloOptions()).Succeeded);
    }

    private static T Bind<T>(string section, string key, string value) where T : new()
    {
        var options = new T();
        new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { [$"{section}:{key}"] = value })
            .Build()
            .GetSection(section)
            .Bind(options);
        return options;
    }
}
