using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference.Data;

namespace AsymCdc.Grains.Tests;

/// <summary>At k = 3 digits-mlp has no compact decoder (only k = 2): its default is hedged, asymcdc-compact is refused
/// naming the missing decoder, and auto serves it by hedging alone; fmnist-cnn, which has one, is coded.</summary>
[Collection(ObservabilityClusterCollection.Name)]
public sealed class ModelModesAtKTests
{
    [Fact]
    public async Task A_model_without_a_decoder_for_k_is_hedged_by_default_and_by_auto()
    {
        var options = new LocalClusterOptions { Workers = 4, ModelRepository = TestModels.Directory };
        options.Settings["AsymCdc:Serving:K"] = "3";
        options.Settings["AsymCdc:Serving:RequestTimeout"] = "00:00:20";
        await using var cluster = await LocalCluster.StartAsync(options);
        var client = new AsymCdcClient(cluster.Client);
        long autoParityCalls = 0;
        using var listener = new System.Diagnostics.Metrics.MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Name == ServingInstruments.WorkerCallsName)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
        {
            string? mode = null, role = null;
            foreach (var tag in tags)
            {
                (mode, role) = tag.Key switch { "mode" => (tag.Value as string, role), "role" => (mode, tag.Value as string), _ => (mode, role) };
            }

            if (mode == "auto" && role == "parity")
            {
                Interlocked.Add(ref autoParityCalls, value);
            }
        });
        listener.Start();
        var digits = TestSets.Load(TestSets.DigitsName, TestModels.Directory);
        Tensor Digit(int i) => new(digits.Slice(i, 1).ToArray(), [1, 8, 8]);

        var byDefault = await client.PredictAsync("digits-mlp", Digit(0));
        var auto = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => client.PredictAsync("digits-mlp", Digit(i), ServingMode.Auto)));
        var refused = await Assert.ThrowsAsync<PredictionException>(() => client.PredictAsync("digits-mlp", Digit(0), ServingMode.AsymCdcCompact));
        var cnn = await client.PredictAsync("fmnist-cnn", Tensor.Image(TestModels.Data.Image(0).ToArray()));

        Assert.Equal(ServingMode.Hedged, byDefault.Mode);
        Assert.All(auto, p => Assert.Equal(ServingMode.Auto, p.Mode));
        Assert.DoesNotContain(auto, p => p.ServedBy.IsReconstruction());
        Assert.Equal(0, Interlocked.Read(ref autoParityCalls)); // it hedges: no parity query was ever sent
        Assert.Equal(PredictionErrorCode.ModeNotSupported, refused.Code);
        Assert.Contains("a compact decoder of 'digits-mlp' for groups of 3", refused.Message);
        Assert.Equal(ServingMode.AsymCdcCompact, cnn.Mode);
    }
}
