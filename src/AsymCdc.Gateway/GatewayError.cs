using AsymCdc.Abstractions;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;

namespace AsymCdc.Gateway;

/// <summary>An HTTP answer to a failed prediction: status, the message for <c>{"error"}</c>, and whether
/// the caller should retry after <c>Retry-After</c>.</summary>
public readonly record struct GatewayError(int StatusCode, string Message, bool RetryAfter)
{
    /// <summary>Maps what the cluster threw to HTTP. Predictions are idempotent, so every retryable failure
    /// is a 503/504 a client or load balancer may retry; the rest are the caller's fault (400).</summary>
    public static GatewayError From(Exception exception) => exception switch
    {
        PredictionException { Code: PredictionErrorCode.Overloaded } e => new(StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter: true),
        PredictionException { Code: PredictionErrorCode.Unavailable } e => new(StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter: true),
        PredictionException { Code: PredictionErrorCode.DeadlineExceeded } e => new(StatusCodes.Status504GatewayTimeout, e.Message, RetryAfter: false),
        PredictionException e => new(StatusCodes.Status400BadRequest, e.Message, RetryAfter: false),
        // Orleans' own response timeout: the frontend never answered.
        TimeoutException => new(StatusCodes.Status504GatewayTimeout, "the cluster did not answer in time; retry later", RetryAfter: false),
        SiloUnavailableException or OrleansMessageRejectionException or ClientNotAvailableException =>
            new(StatusCodes.Status503ServiceUnavailable, "the cluster is unavailable; retry later", RetryAfter: true),
        _ => new(StatusCodes.Status500InternalServerError, "internal error while serving the prediction; see the gateway log", RetryAfter: false),
    };
}
