using System.IO.Pipelines;
using AsymCdc.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AsymCdc.Gateway;

/// <summary>
/// The request handlers behind <see cref="GatewayEndpointRouteBuilderExtensions.MapAsymCdcGateway"/>.
/// A thin edge: parse (pure), fan out one <see cref="IFrontendGrain.PredictAsync"/> per image, write the answer.
/// </summary>
internal sealed partial class InferenceGateway(
    IGrainFactory grains,
    IGatewayReadiness readiness,
    IOptions<GatewayOptions> options,
    GatewayInstruments instruments,
    TimeProvider time,
    ILogger<InferenceGateway> logger)
{
    private const string JsonContentType = "application/json";
    private static readonly byte[] ModelMetadataBody = InferResponseWriter.ModelMetadata();
    private static readonly byte[] ServerMetadataBody = InferResponseWriter.ServerMetadata(
        typeof(InferenceGateway).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    private static readonly byte[] ReadyBody = """{"ready":true}"""u8.ToArray();
    private static readonly byte[] NotReadyBody = """{"ready":false}"""u8.ToArray();
    private static readonly byte[] LiveBody = """{"live":true}"""u8.ToArray();

    private readonly GatewayOptions _options = options.Value;

    public Task ServerMetadataAsync(HttpContext context) => WriteBodyAsync(context, StatusCodes.Status200OK, ServerMetadataBody);

    /// <summary>Live as long as the process serves HTTP: restarting it would not bring the cluster back.</summary>
    public Task LiveAsync(HttpContext context) => WriteBodyAsync(context, StatusCodes.Status200OK, LiveBody);

    public async Task ReadyAsync(HttpContext context)
    {
        var ready = await IsReadyAsync(context.RequestAborted);
        await WriteBodyAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, ready ? ReadyBody : NotReadyBody);
    }

    public Task ModelMetadataAsync(HttpContext context) =>
        IsServedModel(context) ? WriteBodyAsync(context, StatusCodes.Status200OK, ModelMetadataBody) : WriteUnknownModelAsync(context);

    public async Task ModelReadyAsync(HttpContext context)
    {
        if (!IsServedModel(context))
        {
            await WriteUnknownModelAsync(context);
            return;
        }

        await ReadyAsync(context);
    }

    public async Task InferAsync(HttpContext context)
    {
        var started = time.GetTimestamp();
        var status = await ServeInferAsync(context);
        instruments.RecordRequest(status, time.GetElapsedTime(started));
    }

    private async Task<int> ServeInferAsync(HttpContext context)
    {
        if (!IsServedModel(context))
        {
            await WriteUnknownModelAsync(context);
            return StatusCodes.Status404NotFound;
        }

        InferRequest request;
        var body = context.Request.BodyReader;
        var read = await ReadWholeBodyAsync(body, context.RequestAborted);
        try
        {
            request = InferRequestParser.Parse(read.Buffer, _options.MaxBatchSize);
        }
        catch (InferRequestException e)
        {
            LogRejected(logger, e.Message);
            await WriteErrorAsync(context, new GatewayError(StatusCodes.Status400BadRequest, e.Message, RetryAfter: false));
            return StatusCodes.Status400BadRequest;
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);
        }

        // One grain call per image, all at once: the frontend forms parity groups across callers, so a batch
        // must not be serialised here. Any key works; the frontend is stateless.
        var frontend = grains.GetGrain<IFrontendGrain>(0);
        var calls = new Task<Prediction>[request.Images.Length];
        for (var i = 0; i < calls.Length; i++)
        {
            calls[i] = PredictAsync(frontend, new PredictionRequest(request.Images[i], PredictionRequest.DefaultModel, request.Mode, request.Timeout));
        }

        try
        {
            await Task.WhenAll(calls);
        }
        catch
        {
            var failure = DecisiveFailure(calls);
            var error = GatewayError.From(failure);
            if (error.StatusCode == StatusCodes.Status500InternalServerError)
            {
                LogUnexpectedFailure(logger, failure);
            }
            else
            {
                LogPredictionFailed(logger, error.StatusCode, error.Message);
            }

            await WriteErrorAsync(context, error);
            return error.StatusCode;
        }

        var predictions = new Prediction[calls.Length];
        for (var i = 0; i < calls.Length; i++)
        {
            predictions[i] = calls[i].Result;
            instruments.RecordPrediction(predictions[i].ServedBy);
        }

        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = JsonContentType;
        InferResponseWriter.WriteInferResponse(context.Response.BodyWriter, request.Id, predictions, request.Outputs);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
        return StatusCodes.Status200OK;
    }

    /// <summary>Turns a call that throws before returning (e.g. a disconnected client) into a failed task,
    /// so one bad call cannot leave the others of the batch unobserved.</summary>
    private static async Task<Prediction> PredictAsync(IFrontendGrain frontend, PredictionRequest request) =>
        await frontend.PredictAsync(request);

    private async ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await readiness.IsReadyAsync(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogReadinessFailed(logger, e);
            return false;
        }
    }

    private static bool IsServedModel(HttpContext context)
    {
        var values = context.Request.RouteValues;
        return string.Equals(values["model"] as string, PredictionRequest.DefaultModel, StringComparison.Ordinal)
            && (values["version"] is not string version || string.Equals(version, InferResponseWriter.ModelVersion, StringComparison.Ordinal));
    }

    private Task WriteUnknownModelAsync(HttpContext context)
    {
        var values = context.Request.RouteValues;
        var message = values["version"] is string version && string.Equals(values["model"] as string, PredictionRequest.DefaultModel, StringComparison.Ordinal)
            ? $"unknown version '{version}' of model '{PredictionRequest.DefaultModel}'; this gateway serves version {InferResponseWriter.ModelVersion}"
            : $"unknown model '{values["model"]}'; this gateway serves '{PredictionRequest.DefaultModel}'";
        return WriteErrorAsync(context, new GatewayError(StatusCodes.Status404NotFound, message, RetryAfter: false));
    }

    private Task WriteErrorAsync(HttpContext context, GatewayError error)
    {
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = JsonContentType;
        if (error.RetryAfter)
        {
            // Retry-After carries whole seconds; round up so a client never retries early.
            context.Response.Headers[HeaderNames.RetryAfter] = ((long)Math.Ceiling(_options.RetryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        InferResponseWriter.WriteError(context.Response.BodyWriter, error.Message);
        return context.Response.BodyWriter.FlushAsync(context.RequestAborted).AsTask();
    }

    private static Task WriteBodyAsync(HttpContext context, int statusCode, byte[] body)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = JsonContentType;
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body, context.RequestAborted).AsTask();
    }

    /// <summary>Buffers the whole body in the pipe (Kestrel's MaxRequestBodySize bounds it) so that the
    /// synchronous <see cref="System.Text.Json.Utf8JsonReader"/> can parse it in one pass.</summary>
    private static async ValueTask<ReadResult> ReadWholeBodyAsync(PipeReader body, CancellationToken cancellationToken)
    {
        while (true)
        {
            var result = await body.ReadAsync(cancellationToken);
            if (result.IsCompleted || result.IsCanceled)
            {
                return result;
            }

            body.AdvanceTo(result.Buffer.Start, result.Buffer.End);
        }
    }

    private static Exception DecisiveFailure(Task<Prediction>[] calls)
    {
        var failures = new List<Exception>();
        foreach (var call in calls)
        {
            if (call.IsFaulted)
            {
                failures.Add(call.Exception!.InnerException ?? call.Exception);
            }
            else if (call.IsCanceled)
            {
                failures.Add(new TimeoutException("the prediction was cancelled"));
            }
        }

        return GatewayError.MostTelling(failures);
    }
}
