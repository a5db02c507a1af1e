using AsymCdc.Abstractions;
using Microsoft.AspNetCore.Http;
using Orleans.Runtime;

namespace AsymCdc.Gateway;

/// <summary>An HTTP answer to a failed prediction: status, the message for <c>{"error"}</c>, and whether
/// the caller should retry after <c>Retry-After</c>.</summary>
public readonly record struct GatewayError(int StatusCode, string Message, bool RetryAfter)
{
    /// <summary>Maps what the cluster threw to HTTP. Predictions are idempotent, so every retryable failure
    /// is a 503/504 a client or load balancer may retry; an unknown model is 404; the rest are the caller's fault (400).</summary>
    public static GatewayError From(Exception exception) => exception switch
    {
        PredictionException { Code: PredictionErrorCode.Overloaded } e => new(StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter: true),
        PredictionException { Code: PredictionErrorCode.Unavailable } e => new(StatusCodes.Status503ServiceUnavailable, e.Message, RetryAfter: true),
        PredictionException { Code: PredictionErrorCode.DeadlineExceeded } e => new(StatusCodes.Status504GatewayTimeout, e.Message, RetryAfter: false),
        // The gateway checks the model against its catalogue first; a cluster that does not know it either answers as it would.
        PredictionException { Code: PredictionErrorCode.UnknownModel } e => new(StatusCodes.Status404NotFound, e.Message, RetryAfter: false),
        PredictionException e => new(StatusCodes.Status400BadRequest, e.Message, RetryAfter: false),
        // Orleans' own response timeout: the frontend never answered.
        TimeoutException => new(StatusCodes.Status504GatewayTimeout, "the cluster did not answer in time; retry later", RetryAfter: false),
        SiloUnavailableException or OrleansMessageRejectionException or ClientNotAvailableException =>
            new(StatusCodes.Status503ServiceUnavailable, "the cluster is unavailable; retry later", RetryAfter: true),
        _ => new(StatusCodes.Status500InternalServerError, "internal error while serving the prediction; see the gateway log", RetryAfter: false),
    };

    /// <summary>A batch gets one status, so report the failure that tells the caller most: a permanent error (400)
    /// first, since retrying cannot help; then a retryable 503 with Retry-After; then 504; then anything else.
    /// Ties go to the earliest image.</summary>
    public static Exception MostTelling(IReadOnlyList<Exception> failures)
    {
        ArgumentOutOfRangeException.ThrowIfZero(failures.Count);
        var decisive = failures[0];
        var decisiveRank = Rank(decisive);
        for (var i = 1; i < failures.Count; i++)
        {
            var rank = Rank(failures[i]);
            if (rank < decisiveRank)
            {
                (decisive, decisiveRank) = (failures[i], rank);
            }
        }

        return decisive;

        static int Rank(Exception failure) => From(failure).StatusCode switch
        {
            StatusCodes.Status400BadRequest or StatusCodes.Status404NotFound => 0,
            StatusCodes.Status503ServiceUnavailable => 1,
            StatusCodes.Status504GatewayTimeout => 2,
            _ => 3,
        };
    }
}
