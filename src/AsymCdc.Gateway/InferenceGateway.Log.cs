using Microsoft.Extensions.Logging;

namespace AsymCdc.Gateway;

internal sealed partial class InferenceGateway
{
    [LoggerMessage(1, LogLevel.Debug, "Rejected an infer request: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Warning, "An infer request failed with HTTP {StatusCode}: {Reason}")]
    private static partial void LogPredictionFailed(ILogger logger, int statusCode, string reason);

    [LoggerMessage(3, LogLevel.Error, "An infer request failed unexpectedly")]
    private static partial void LogUnexpectedFailure(ILogger logger, Exception exception);

    [LoggerMessage(4, LogLevel.Warning, "The readiness check threw; reporting not ready")]
    private static partial void LogReadinessFailed(ILogger logger, Exception exception);
}
