using AsymCdc.Grains;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace AsymCdc.Hosting;

/// <summary>Where telemetry goes (section <c>AsymCdc:Telemetry</c>). Metrics are always collected for the host's own
/// exporter (Prometheus on <c>/metrics</c>); traces and metrics are also pushed over OTLP when an endpoint is set.</summary>
public sealed class TelemetryOptions
{
    public const string SectionName = "AsymCdc:Telemetry";

    /// <summary>OTLP (gRPC) collector, e.g. <c>http://otel-collector:4317</c>; empty (default) exports no traces.</summary>
    public string? OtlpEndpoint { get; set; }

    /// <summary>The service name on every span and metric.</summary>
    public string ServiceName { get; set; } = "asymcdc";
}

public static class AsymCdcTelemetry
{
    /// <summary>Latency buckets in ms: the interesting range of an in-cluster query is 1 ms to a few hundred.</summary>
    private static readonly double[] MillisecondBuckets = [1, 2, 3, 5, 7.5, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 1000, 2500, 5000];

    /// <summary>Queue-delay buckets in seconds (the autoscaler's signal): 100 µs to 2.5 s.</summary>
    private static readonly double[] SecondBuckets = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

    /// <summary>
    /// OpenTelemetry for an AsymCDC host: the serving meter (<see cref="ServingInstruments.MeterName"/>) and
    /// <paramref name="extraMeters"/> (e.g. the gateway's), with latency buckets fit for milliseconds; and, when
    /// <c>AsymCdc:Telemetry:OtlpEndpoint</c> is set, the <see cref="ServingTelemetry.SourceName"/> traces and the metrics
    /// over OTLP. A bad endpoint throws an <see cref="OptionsValidationException"/> naming the key. The host adds its
    /// scrape exporter to the returned builder (<c>.WithMetrics(m =&gt; m.AddPrometheusExporter())</c>).
    /// </summary>
    public static OpenTelemetryBuilder AddAsymCdcTelemetry(this IServiceCollection services, IConfiguration configuration, params string[] extraMeters)
    {
        ArgumentNullException.ThrowIfNull(configuration);
        var options = configuration.GetSection(TelemetryOptions.SectionName).Get<TelemetryOptions>() ?? new TelemetryOptions();
        var otlp = ParseEndpoint(options.OtlpEndpoint);
        var telemetry = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(options.ServiceName))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter(ServingInstruments.MeterName);
                foreach (var meter in extraMeters)
                {
                    metrics.AddMeter(meter);
                }

                metrics.AddView(instrument => instrument.Meter.Name.StartsWith(ServingInstruments.MeterName, StringComparison.Ordinal)
                    && instrument.Unit is "ms" or "s"
                        ? new ExplicitBucketHistogramConfiguration { Boundaries = instrument.Unit == "s" ? SecondBuckets : MillisecondBuckets }
                        : null);
                if (otlp is not null)
                {
                    metrics.AddOtlpExporter(o => o.Endpoint = otlp);
                }
            });
        if (otlp is not null)
        {
            // Only with a collector: with no listener, the serving spans cost nothing.
            // Orleans' grain-call spans too: they carry the query's trace into the worker silos (asymcdc.inference).
            telemetry.WithTracing(tracing => tracing.AddSource(ServingTelemetry.SourceName, Orleans.Diagnostics.ActivitySources.ApplicationGrainActivitySourceName)
                .AddOtlpExporter(o => o.Endpoint = otlp));
        }

        return telemetry;
    }

    private static Uri? ParseEndpoint(string? endpoint)
    {
        if (string.IsNullOrWhiteSpace(endpoint))
        {
            return null;
        }

        return Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"
            ? uri
            : throw new OptionsValidationException(TelemetryOptions.SectionName, typeof(TelemetryOptions),
                [$"{TelemetryOptions.SectionName}:OtlpEndpoint = '{endpoint}' is not an http(s) URL; give the collector, e.g. http://otel-collector:4317"]);
    }
}
