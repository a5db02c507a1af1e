using System.Diagnostics.Metrics;

namespace AsymCdc.Client;

/// <summary>
/// The client's metrics, meter <see cref="MeterName"/> (add it to the caller's OpenTelemetry or other
/// <see cref="MeterListener"/>): the calls it sent more than once, and why. Each counts an event that is rare while
/// nothing fails, so counting costs the hot path nothing.
/// </summary>
public static class ClientInstruments
{
    public const string MeterName = "AsymCdc.Client";

    private static readonly Meter s_meter = new(MeterName);

    /// <summary><c>asymcdc.client.hedges</c> by <c>outcome</c>: <c>sent</c>, <c>won</c> (answered first),
    /// <c>withheld</c> (the budget was spent when it was due: it waits for the budget to refill).</summary>
    public static readonly Counter<long> Hedges = s_meter.CreateCounter<long>("asymcdc.client.hedges", "{call}",
        "Calls slower than the hedge delay, by outcome: sent again through another frontend, answered first by that copy, or withheld by the budget");

    /// <summary><c>asymcdc.client.resends</c> by <c>reason</c>: <c>gateway_lost</c> or <c>frontend_suspected</c>.</summary>
    public static readonly Counter<long> Resends = s_meter.CreateCounter<long>("asymcdc.client.resends", "{call}",
        "Calls sent again because a gateway connection was lost or the frontend they entered became suspected while they were out");

    /// <summary><c>asymcdc.client.frontend_suspicions</c>: a frontend that answered nothing since a call its hedge
    /// overtook was sent became suspected.</summary>
    public static readonly Counter<long> FrontendSuspicions = s_meter.CreateCounter<long>("asymcdc.client.frontend_suspicions", "{suspicion}",
        "Frontend silos the client began to avoid because they answered nothing since a call that a hedge overtook");

    internal static readonly KeyValuePair<string, object?> Sent = new("outcome", "sent");
    internal static readonly KeyValuePair<string, object?> Won = new("outcome", "won");
    internal static readonly KeyValuePair<string, object?> Withheld = new("outcome", "withheld");
    internal static readonly KeyValuePair<string, object?> GatewayLost = new("reason", "gateway_lost");
    internal static readonly KeyValuePair<string, object?> FrontendSuspected = new("reason", "frontend_suspected");
    internal static readonly KeyValuePair<string, object?> Refused = new("reason", "refused");
}
