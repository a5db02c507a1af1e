using Microsoft.Extensions.Logging;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Hosting;
using AsymCdc.Inference.Data;

namespace AsymCdc.Grains.Tests;

/// <summary>At k = 3 digits-mlp has no compact decoder (only k = 2): in a cluster whose default is asymcdc-compact its
/// default is hedged, asymcdc-compact is refused
/// naming the missing decoder, and auto serves it by hedging alone; fmnist-cnn, which has one, is coded, though auto
/// only hedges it (its decoder's recorded agreement is below AutoMinAgreement); fmnist's auto codes with its compact
/// decoder. Each auto parity group logs which decoder it codes with, or why it only hedges.</summary>
[Collection(ObservabilityClusterCollection.Name)]
public sealed class ModelModesAtKTests
{
    [Fact]
    public async Task A_model_without_a_decoder_for_k_is_hedged_by_default_and_by_auto()
    {
        var logs = new CapturedLogs();
        // A cluster whose default is asymcdc-compact: a model that lacks its decoder falls back to hedged.
        await using var cluster = await StartAsync(4, logs, ("K", "3"), ("DefaultMode", "asymcdc-compact"));
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
        var cnnAuto = await client.PredictAsync("fmnist-cnn", Tensor.Image(TestModels.Data.Image(1).ToArray()), ServingMode.Auto);
        var hedgedOnlyParityCalls = Interlocked.Read(ref autoParityCalls);
        var fmnistAuto = await client.PredictAsync("fmnist", Tensor.Image(TestModels.Data.Image(2).ToArray()), ServingMode.Auto);

        Assert.Equal(ServingMode.Hedged, byDefault.Mode);
        Assert.All(auto, p => Assert.Equal(ServingMode.Auto, p.Mode));
        Assert.DoesNotContain(auto, p => p.ServedBy.IsReconstruction());
        Assert.Equal(0, hedgedOnlyParityCalls); // digits-mlp's and fmnist-cnn's auto hedge: no parity query was sent
        // Each auto parity group says which decoder it codes with, or why it only hedges: digits-mlp has neither at k = 3;
        // fmnist-cnn's compact decoder for 3 records agreement 0.8437, below the default floor 0.85; fmnist's 0.886.
        Assert.Contains(logs.Lines, l => l.StartsWith("digits-mlp/auto/3/", StringComparison.Ordinal)
            && l.Contains("hedged: coding is not available for this model: parm needs a ParM parity model of 'digits-mlp' for k = 3", StringComparison.Ordinal)
            && l.Contains("asymcdc-compact needs a compact decoder of 'digits-mlp' for groups of 3", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.StartsWith("fmnist-cnn/auto/3/", StringComparison.Ordinal)
            && l.Contains("hedged: coding is not available for this model", StringComparison.Ordinal)
            && l.Contains("asymcdc-compact's reconstructions agree with the model 0.8437, below AutoMinAgreement 0.85", StringComparison.Ordinal));
        Assert.Contains(logs.Lines, l => l.StartsWith("fmnist-inn/auto/3/", StringComparison.Ordinal)
            && l.Contains("auto codes with asymcdc-compact (agreement 0.886 ≥ 0.85; parm needs", StringComparison.Ordinal));
        Assert.Equal(ServingMode.Auto, cnnAuto.Mode);
        Assert.NotEqual(ServedBy.ReconstructedCompact, cnnAuto.ServedBy);
        Assert.Equal(ServingMode.Auto, fmnistAuto.Mode);
        Assert.Equal(PredictionErrorCode.ModeNotSupported, refused.Code);
        Assert.Contains("a compact decoder of 'digits-mlp' for groups of 3", refused.Message);
        Assert.Equal(ServingMode.AsymCdcCompact, cnn.Mode);
    }

    [Fact]
    public async Task Below_one_parity_per_k_auto_codes_larger_groups_within_its_budget()
    {
        var logs = new CapturedLogs();
        await using var cluster = await StartAsync(5, logs, ("K", "2"), ("RedundancyBudget", "0.25"), ("GroupWindow", "00:00:00.050"));
        var client = new AsymCdcClient(cluster.Client);

        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(i =>
            client.PredictAsync("fmnist", Tensor.Image(TestModels.Data.Image(i).ToArray()), ServingMode.Auto)));

        // 1/2 is over the budget and 1/3 too; at 4 ParM's parity model is below the floor (0.7395), the compact decoder
        // is not (0.8569): groups of up to 4 queries and one parity, all 40 answered.
        Assert.Contains(logs.Lines, l => l.StartsWith("fmnist-inn/auto/2/", StringComparison.Ordinal)
            && l.Contains("codes with asymcdc-compact (agreement 0.8569 ≥ 0.85", StringComparison.Ordinal)
            && l.Contains("at k = 4, the smallest group whose 1/4 extra calls per query fit the redundancy budget 0.25", StringComparison.Ordinal));
        var groups = answers.GroupBy(p => p.GroupId).Select(g => g.Count()).ToList();
        Assert.All(groups, size => Assert.InRange(size, 1, 4));
        Assert.Contains(groups, size => size > 2);
        Assert.All(answers, p => Assert.Equal(ServingMode.Auto, p.Mode));
    }

    /// <summary>A local cluster with these <c>AsymCdc:Serving</c> settings whose parity groups log into <paramref name="logs"/>.</summary>
    private static Task<LocalCluster> StartAsync(int workers, CapturedLogs logs, params (string Key, string Value)[] serving)
    {
        var options = new LocalClusterOptions { Workers = workers, ModelRepository = TestModels.Directory };
        options.Settings["AsymCdc:Serving:RequestTimeout"] = "00:00:20";
        foreach (var (key, value) in serving)
        {
            options.Settings[$"AsymCdc:Serving:{key}"] = value;
        }

        options.ConfigureLogging = logging => logging.AddProvider(logs).AddFilter<CapturedLogs>(typeof(ParityGroupGrain).FullName, LogLevel.Information);
        return LocalCluster.StartAsync(options);
    }

    /// <summary>Keeps every formatted log line it is given (the test filters which).</summary>
    private sealed class CapturedLogs : ILoggerProvider, ILogger
    {
        public System.Collections.Concurrent.ConcurrentQueue<string> Lines { get; } = new();

        public ILogger CreateLogger(string categoryName) => this;

        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            Lines.Enqueue(formatter(state, exception));

        public void Dispose()
        {
        }
    }
}
