using System.Diagnostics;

namespace AsymCdc.Grains;

/// <summary>The serving traces: <see cref="Source"/> (<c>AsymCdc</c>) starts one <see cref="QuerySpan"/> per query in its
/// parity group, with child spans for the encode, each worker call and the decode, and on the worker silo an
/// <see cref="InferenceSpan"/> per model call. Free when nobody listens.</summary>
public static class ServingTelemetry
{
    public const string SourceName = "AsymCdc";
    public const string QuerySpan = "asymcdc.query";
    public const string EncodeSpan = "asymcdc.encode";
    public const string WorkerCallSpan = "asymcdc.worker_call";
    public const string DecodeSpan = "asymcdc.decode";

    /// <summary>On the worker silo: one model call (its straggler delay, if injected, included), a child of the query's
    /// worker call when traces propagate across silos.</summary>
    public const string InferenceSpan = "asymcdc.inference";

    public static readonly ActivitySource Source = new(SourceName);
}
