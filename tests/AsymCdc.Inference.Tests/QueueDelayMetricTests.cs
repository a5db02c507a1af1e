using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;

namespace AsymCdc.Inference.Tests;

/// <summary><c>asymcdc.worker.queue_delay</c>, the autoscaler's signal, recorded by the micro-batcher itself: one sample
/// per served call, in seconds, tagged with its model, on the meter of the host that opened the repository.</summary>
public sealed class QueueDelayMetricTests
{
    [Fact]
    public async Task Every_served_call_records_its_own_queue_delay_in_seconds_on_the_hosts_meter()
    {
        using var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = services.GetRequiredService<IMeterFactory>();
        var samples = new ConcurrentQueue<(double Seconds, string? Model)>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                // Only this host's meter: other repositories in the test process record on their own.
                if (instrument.Name == InferenceInstruments.QueueDelayName && ReferenceEquals(instrument.Meter.Scope, meters))
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            string? model = null;
            foreach (var tag in tags)
            {
                model = tag.Key == "model" ? tag.Value as string : model;
            }

            samples.Enqueue((value, model));
        });
        listener.Start();

        // A window far longer than the test: 16 calls wait for the batch to fill, so each one queues a measurable time.
        var options = TestModels.Options(ModelNames.Classifier);
        options.MaxBatchSize = 16;
        options.BatchWindowMicroseconds = 1_000_000;
        using var repository = ModelRepository.Open(options, meterFactory: meters);
        var function = repository.GetFunction(ModelNames.Classifier);
        await Task.WhenAll(Enumerable.Range(0, 16).Select(c => function.RunAsync(TestModels.Images.Image(c), 1).AsTask()));

        Assert.Equal(16, samples.Count);
        Assert.All(samples, s => Assert.Equal(ModelNames.Classifier, s.Model));
        // Seconds, not ticks: at most the 1 s window plus the runner's own scheduling (1.018 s measured once, when every
        // test assembly of the run started at once on 2 cores and the runner resumed late). The sum below pins the unit.
        Assert.All(samples, s => Assert.InRange(s.Seconds, 0, 5));
        // The first call waited for the other fifteen to arrive; the metric carries each call's own wait, not a mean.
        Assert.True(samples.Max(s => s.Seconds) > samples.Min(s => s.Seconds));
        // The batcher's own counter, kept as a TimeSpan (100 ns ticks): up to 100 ns of rounding per call.
        Assert.Equal(function.Stats.TotalQueueDelay.TotalSeconds, samples.Sum(s => s.Seconds), tolerance: 16 * 1e-7);
    }
}
