using System.Diagnostics.Metrics;
using AsymCdc.Abstractions;
using AsymCdc.Client;
using AsymCdc.Grains;
using AsymCdc.Hosting;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Reliability.Tests;

/// <summary>Admission control: beyond <c>MaxInFlight</c> a frontend refuses at once with <c>Overloaded</c> (retryable)
/// and counts it, instead of queueing queries past their deadline; what it admitted is still answered.</summary>
public sealed class OverloadTests
{
    private const int MaxInFlight = 2;

    [Fact]
    public async Task Beyond_max_in_flight_calls_are_refused_at_once_as_overloaded_and_counted()
    {
        var options = new LocalClusterOptions { Workers = 1, ModelRepository = TestEnvironment.ModelRepository };
        options.Settings["AsymCdc:Serving:MaxInFlight"] = $"{MaxInFlight}";
        // Every worker call is held back, so the admitted queries stay in flight while the others arrive. Hold and deadline
        // are long against a slow machine: with a 3 s hold and the client's default 5 s deadline, a clean clone's cold
        // first run once saw the admitted queries fail before the check (8 s for the test).
        options.Settings["AsymCdc:Stragglers:Rate"] = "1";
        options.Settings["AsymCdc:Stragglers:Delay"] = "00:00:10";
        options.Settings["AsymCdc:Serving:RequestTimeout"] = "00:00:30";
        await using var cluster = await LocalCluster.StartAsync(options);
        var client = new AsymCdcClient(cluster.Client);
        var admission = cluster.Frontend.Services.GetRequiredService<AdmissionControl>();
        using var rejected = new RejectionCounter();

        var admitted = Enumerable.Range(0, MaxInFlight)
            .Select(i => client.PredictAsync(TestEnvironment.Image(i), ServingMode.None, TimeSpan.FromSeconds(30))).ToList();
        await TestEnvironment.WaitUntilAsync(() => admission.InFlight == MaxInFlight, $"{MaxInFlight} queries are in flight");
        var excess = Enumerable.Range(0, 8).Select(i => client.PredictAsync(TestEnvironment.Image(10 + i), ServingMode.None)).ToList();

        foreach (var call in excess)
        {
            var refused = await Assert.ThrowsAsync<PredictionException>(() => call);
            Assert.Equal(PredictionErrorCode.Overloaded, refused.Code);
            Assert.True(refused.IsRetryable);
            Assert.Contains("AsymCdc:Serving:MaxInFlight", refused.Message, StringComparison.Ordinal);
        }

        // "At once": every refusal came back while the admitted queries were still held by their workers.
        Assert.All(admitted, call => Assert.False(call.IsCompleted));
        Assert.Equal(8, rejected.Count(nameof(PredictionErrorCode.Overloaded)));
        foreach (var prediction in await Task.WhenAll(admitted))
        {
            Assert.Equal(ServedBy.Direct, prediction.ServedBy);
        }

        Assert.Equal(0, admission.InFlight);
        var after = await client.PredictAsync(TestEnvironment.Image(99), ServingMode.None, TimeSpan.FromSeconds(30));
        Assert.InRange(after.Label, 0, PredictionRequest.Classes - 1);
    }

    /// <summary>The silos' <c>asymcdc.rejected</c> counter, by code.</summary>
    private sealed class RejectionCounter : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly Dictionary<string, long> _counts = [];

        public RejectionCounter()
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ServingInstruments.MeterName && instrument.Name == "asymcdc.rejected")
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((_, value, tags, _) =>
            {
                foreach (var tag in tags)
                {
                    if (tag is { Key: "code", Value: string code })
                    {
                        lock (_counts)
                        {
                            _counts[code] = _counts.GetValueOrDefault(code) + value;
                        }
                    }
                }
            });
            _listener.Start();
        }

        public long Count(string code)
        {
            lock (_counts)
            {
                return _counts.GetValueOrDefault(code);
            }
        }

        public void Dispose() => _listener.Dispose();
    }
}
