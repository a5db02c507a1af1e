using System.Buffers;
using System.Globalization;
using System.IO.Pipelines;
using AsymCdc.Abstractions;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace AsymCdc.Gateway;

/// <summary>
/// The request handlers behind <see cref="GatewayEndpointRouteBuilderExtensions.MapAsymCdcGateway"/>, for every model
/// of the <see cref="IServedModelCatalog"/>. A thin edge: parse (pure), fan out one
/// <see cref="IFrontendGrain.PredictAsync"/> per item (<see cref="PredictionFanOut"/>), write the answer as JSON or,
/// when asked, with the binary tensor data extension.
/// </summary>
internal sealed partial class InferenceGateway
{
    private const string JsonContentType = "application/json";
    private const string BinaryContentType = "application/octet-stream";
    private static readonly byte[] ServerMetadataBody = InferResponseWriter.ServerMetadata(
        typeof(InferenceGateway).Assembly.GetName().Version?.ToString(3) ?? "0.0.0");

    private static readonly byte[] ReadyBody = """{"ready":true}"""u8.ToArray();
    private static readonly byte[] NotReadyBody = """{"ready":false}"""u8.ToArray();
    private static readonly byte[] LiveBody = """{"live":true}"""u8.ToArray();

    private readonly IServedModelCatalog _catalog;
    private readonly PredictionFanOut _fanOut;
    private readonly IGatewayReadiness _readiness;
    private readonly GatewayInstruments _instruments;
    private readonly TimeProvider _time;
    private readonly ILogger _logger;
    private readonly GatewayOptions _options;
    private readonly Dictionary<ServedModel, byte[]> _metadata = [];

    public InferenceGateway(
        IServedModelCatalog catalog,
        PredictionFanOut fanOut,
        IGatewayReadiness readiness,
        IOptions<GatewayOptions> options,
        GatewayInstruments instruments,
        TimeProvider time,
        ILogger<InferenceGateway> logger)
    {
        (_catalog, _fanOut, _readiness, _instruments, _time, _logger, _options) = (catalog, fanOut, readiness, instruments, time, logger, options.Value);
        foreach (var model in catalog.Models)
        {
            _metadata[model] = InferResponseWriter.ModelMetadata(model);
        }
    }

    public Task ServerMetadataAsync(HttpContext context) => WriteBodyAsync(context, StatusCodes.Status200OK, ServerMetadataBody);

    /// <summary>Live as long as the process serves HTTP: restarting it would not bring the cluster back.</summary>
    public Task LiveAsync(HttpContext context) => WriteBodyAsync(context, StatusCodes.Status200OK, LiveBody);

    public async Task ReadyAsync(HttpContext context)
    {
        var ready = await IsReadyAsync(context.RequestAborted);
        await WriteBodyAsync(context, ready ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable, ready ? ReadyBody : NotReadyBody);
    }

    public Task ModelMetadataAsync(HttpContext context) =>
        Lookup(context) is { Model: { } model } ? WriteBodyAsync(context, StatusCodes.Status200OK, MetadataOf(model)) : WriteUnknownModelAsync(context);

    public async Task ModelReadyAsync(HttpContext context)
    {
        if (Lookup(context).Model is null)
        {
            await WriteUnknownModelAsync(context);
            return;
        }

        await ReadyAsync(context);
    }

    /// <summary><c>POST /v2/repository/index</c>: every model version and whether it serves now.</summary>
    public async Task RepositoryIndexAsync(HttpContext context)
    {
        var body = context.Request.BodyReader;
        var read = await ReadWholeBodyAsync(body, context.RequestAborted);
        bool onlyReady;
        try
        {
            onlyReady = InferRequestParser.ParseRepositoryIndexRequest(read.Buffer);
        }
        catch (InferRequestException e)
        {
            await WriteErrorAsync(context, new GatewayError(StatusCodes.Status400BadRequest, e.Message, RetryAfter: false));
            return;
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);
        }

        var ready = await IsReadyAsync(context.RequestAborted);
        context.Response.StatusCode = StatusCodes.Status200OK;
        context.Response.ContentType = JsonContentType;
        InferResponseWriter.WriteRepositoryIndex(context.Response.BodyWriter, _catalog.Models, ready, onlyReady);
        await context.Response.BodyWriter.FlushAsync(context.RequestAborted);
    }

    public async Task InferAsync(HttpContext context)
    {
        var started = _time.GetTimestamp();
        var status = await ServeInferAsync(context);
        _instruments.RecordRequest(status, _time.GetElapsedTime(started));
    }

    private async Task<int> ServeInferAsync(HttpContext context)
    {
        var lookup = Lookup(context);
        if (lookup.Model is not { } model)
        {
            await WriteUnknownModelAsync(context);
            return StatusCodes.Status404NotFound;
        }

        InferRequest request;
        var body = context.Request.BodyReader;
        var read = await ReadWholeBodyAsync(body, context.RequestAborted);
        try
        {
            var jsonLength = InferRequestParser.ParseHeaderContentLength(context.Request.Headers[InferRequestParser.HeaderContentLength]);
            request = InferRequestParser.Parse(read.Buffer, model, _options.MaxBatchSize, jsonLength);
        }
        catch (InferRequestException e)
        {
            LogRejected(_logger, e.Message);
            await WriteErrorAsync(context, new GatewayError(StatusCodes.Status400BadRequest, e.Message, RetryAfter: false));
            return StatusCodes.Status400BadRequest;
        }
        finally
        {
            body.AdvanceTo(read.Buffer.End);
        }

        var result = await _fanOut.PredictAsync(model, request);
        if (result.Predictions is not { } predictions)
        {
            var error = GatewayError.From(result.Failure!);
            if (error.StatusCode == StatusCodes.Status500InternalServerError)
            {
                LogUnexpectedFailure(_logger, result.Failure!);
            }
            else
            {
                LogPredictionFailed(_logger, error.StatusCode, error.Message);
            }

            await WriteErrorAsync(context, error);
            return error.StatusCode;
        }

        var response = context.Response;
        response.StatusCode = StatusCodes.Status200OK;
        if (request.BinaryOutputs == 0)
        {
            response.ContentType = JsonContentType;
            InferResponseWriter.WriteInferResponse(response.BodyWriter, model, lookup.Version, request.Id, predictions, request.Outputs, binaryOutputs: 0);
        }
        else
        {
            // The binary tensor data extension: the JSON's length goes in a header, so the JSON is measured before
            // anything is written (writing to the body sends the headers).
            var json = new ArrayBufferWriter<byte>(1024);
            InferResponseWriter.WriteInferResponse(json, model, lookup.Version, request.Id, predictions, request.Outputs, request.BinaryOutputs);
            response.ContentType = BinaryContentType;
            response.Headers[InferRequestParser.HeaderContentLength] = json.WrittenCount.ToString(CultureInfo.InvariantCulture);
            response.BodyWriter.Write(json.WrittenSpan);
            InferResponseWriter.WriteBinaryOutputs(response.BodyWriter, model, predictions, request.BinaryOutputs);
        }

        await response.BodyWriter.FlushAsync(context.RequestAborted);
        return StatusCodes.Status200OK;
    }

    private byte[] MetadataOf(ServedModel model) =>
        _metadata.TryGetValue(model, out var body) ? body : InferResponseWriter.ModelMetadata(model);

    private async ValueTask<bool> IsReadyAsync(CancellationToken cancellationToken)
    {
        try
        {
            return await _readiness.IsReadyAsync(cancellationToken);
        }
        catch (Exception e) when (!cancellationToken.IsCancellationRequested)
        {
            LogReadinessFailed(_logger, e);
            return false;
        }
    }

    private ModelLookup Lookup(HttpContext context)
    {
        var values = context.Request.RouteValues;
        return ModelLookup.Find(_catalog, values["model"] as string, values["version"] as string);
    }

    private Task WriteUnknownModelAsync(HttpContext context) =>
        WriteErrorAsync(context, new GatewayError(StatusCodes.Status404NotFound, Lookup(context).NotFound!, RetryAfter: false));

    private Task WriteErrorAsync(HttpContext context, GatewayError error)
    {
        context.Response.StatusCode = error.StatusCode;
        context.Response.ContentType = JsonContentType;
        if (error.RetryAfter)
        {
            // Retry-After carries whole seconds; round up so a client never retries early.
            context.Response.Headers[HeaderNames.RetryAfter] = ((long)Math.Ceiling(_options.RetryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
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
}
