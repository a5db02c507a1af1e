using Grpc.Core;
using Microsoft.Extensions.Logging;

namespace AsymCdc.Gateway;

internal sealed partial class InferenceGrpcService
{
    [LoggerMessage(20, LogLevel.Debug, "Rejected a gRPC infer request: {Reason}")]
    private static partial void LogRejected(ILogger logger, string reason);

    [LoggerMessage(21, LogLevel.Warning, "A gRPC infer request failed with {StatusCode}: {Reason}")]
    private static partial void LogPredictionFailed(ILogger logger, StatusCode statusCode, string reason);

    [LoggerMessage(22, LogLevel.Error, "A gRPC infer request failed unexpectedly")]
    private static partial void LogUnexpectedFailure(ILogger logger, Exception exception);

    [LoggerMessage(23, LogLevel.Warning, "The readiness check threw; reporting not ready over gRPC")]
    private static partial void LogReadinessFailed(ILogger logger, Exception exception);
}
