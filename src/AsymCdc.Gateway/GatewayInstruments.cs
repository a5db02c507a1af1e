using System.Diagnostics.Metrics;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>The gateway's metrics, meter <see cref="MeterName"/>: infer requests by status (<c>http.response.status_code</c>
/// for REST, <c>rpc.grpc.status_code</c> for gRPC) and their duration,
/// and answers by how they were served (so the reconstructed fraction is visible at the edge).</summary>
public sealed class GatewayInstruments
{
    public const string MeterName = "AsymCdc.Gateway";

    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _predictions;

    internal GatewayInstruments(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(MeterName);
        _requests = meter.CreateCounter<long>("asymcdc.gateway.requests", unit: "{request}", description: "Infer requests by HTTP status (REST) or gRPC status code.");
        _duration = meter.CreateHistogram<double>("asymcdc.gateway.request.duration", unit: "ms", description: "Infer request time at the gateway.");
        _predictions = meter.CreateCounter<long>("asymcdc.gateway.predictions", unit: "{prediction}", description: "Answers returned, by how they were served.");
    }

    internal void RecordRequest(int statusCode, TimeSpan elapsed)
    {
        var status = new KeyValuePair<string, object?>("http.response.status_code", statusCode);
        _requests.Add(1, status);
        _duration.Record(elapsed.TotalMilliseconds, status);
    }

    internal void RecordGrpcRequest(Grpc.Core.StatusCode statusCode, TimeSpan elapsed)
    {
        var status = new KeyValuePair<string, object?>("rpc.grpc.status_code", (int)statusCode);
        _requests.Add(1, status);
        _duration.Record(elapsed.TotalMilliseconds, status);
    }

    internal void RecordPrediction(ServedBy servedBy) =>
        _predictions.Add(1, new KeyValuePair<string, object?>("served_by", servedBy.ToName()));
}
