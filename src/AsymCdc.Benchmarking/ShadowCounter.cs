using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using AsymCdc.Grains;

namespace AsymCdc.Cli;

/// <summary>Shadow verification per mode, from the in-process silos' <c>asymcdc.shadow.checks</c> and
/// <c>asymcdc.shadow.agreements</c> counters: how many reconstructions were checked against the straggler's late answer,
/// and how many agreed; and the straggler-deadline misses (<c>asymcdc.stragglers</c>), each of which starts a decode
/// unless the own answer comes first.</summary>
public sealed class ShadowCounter : IDisposable
{
    private readonly MeterListener _listener = new();
    private readonly ConcurrentDictionary<(string Mode, string Instrument), long> _counts = new();

    public ShadowCounter()
    {
        _listener.InstrumentPublished = (instrument, listener) =>
        {
            if (instrument.Meter.Name == ServingInstruments.MeterName
                && instrument.Name is ServingInstruments.ShadowChecksName or ServingInstruments.ShadowAgreementsName or StragglersName)
            {
                listener.EnableMeasurementEvents(instrument);
            }
        };
        _listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            foreach (var tag in tags)
            {
                if (tag.Key == "mode" && tag.Value is string mode)
                {
                    _counts.AddOrUpdate((mode, instrument.Name), value, (_, total) => total + value);
                }
            }
        });
        _listener.Start();
    }

    private const string StragglersName = "asymcdc.stragglers";

    /// <summary>Straggler-deadline misses of <paramref name="mode"/> so far.</summary>
    public long Misses(string mode) => _counts.GetValueOrDefault((mode, StragglersName));

    /// <summary>Checks and agreements of <paramref name="mode"/> so far.</summary>
    public (long Checked, long Agreed) Of(string mode) =>
        (_counts.GetValueOrDefault((mode, ServingInstruments.ShadowChecksName)), _counts.GetValueOrDefault((mode, ServingInstruments.ShadowAgreementsName)));

    /// <summary>"shadow verification: N checked, agreement X%" (or that none were checked).</summary>
    public static string Describe(long @checked, long agreed) => @checked == 0
        ? "shadow verification: 0 checked (no sampled reconstruction's straggler has answered yet)"
        : string.Create(System.Globalization.CultureInfo.InvariantCulture, $"shadow verification: {@checked} checked, agreement {100.0 * agreed / @checked:0.0}%");

    public void Dispose() => _listener.Dispose();
}
