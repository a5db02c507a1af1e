using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using Microsoft.Extensions.Options;

namespace AsymCdc.Grains.Tests;

/// <summary>The in-process cluster's silos share one model repository: the <c>AsymCdc:Inference</c> settings every silo
/// is given configure it, as each silo's own repository would be configured in a deployment.</summary>
public sealed class LocalClusterSettingsTests
{
    [Fact]
    public async Task The_inference_settings_of_every_silo_configure_the_repository_they_share()
    {
        var options = new LocalClusterOptions { Workers = 3, ModelRepository = TestModels.Directory };
        options.Settings["AsymCdc:Inference:ParityInstances"] = "0";
        await using var cluster = await LocalCluster.StartAsync(options);
        var client = new AsymCdcClient(cluster.Client);

        var predictions = await Task.WhenAll(Enumerable.Range(0, 20).Select(i =>
            client.PredictAsync(TestModels.Data.Image(i).ToArray(), ServingMode.AsymCdcCompact).WaitAsync(TimeSpan.FromSeconds(30))));

        // Without parity runners the parity queries queue with the data queries: none is counted apart (with the
        // default, StragglerTests sees them counted).
        Assert.Equal(20, predictions.Length);
        Assert.Equal(0, cluster.Models.GetFunction("fmnist-inn").Stats.ParityCalls);
    }

    [Fact]
    public async Task A_bad_inference_setting_stops_the_cluster_from_starting_naming_its_key()
    {
        var options = new LocalClusterOptions { Workers = 3, ModelRepository = TestModels.Directory };
        options.Settings["AsymCdc:Inference:Instances"] = "0";

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => LocalCluster.StartAsync(options));

        Assert.Contains("AsymCdc:Inference:Instances is 0; it must be between 1 and 64.", error.Message, StringComparison.Ordinal);
    }
}
