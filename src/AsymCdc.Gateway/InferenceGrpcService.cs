using System.Buffers;
using System.Globalization;
using AsymCdc.Abstractions;
using AsymCdc.Gateway.KServe;
using Google.Protobuf;
using Grpc.Core;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Runtime;

namespace AsymCdc.Gateway;

/// <summary>
/// The KServe v2 gRPC service (<c>inference.GRPCInferenceService</c>) on the same models, checks and prediction path as
/// the REST endpoints (<see cref="InferenceGateway"/>): FP32 inputs in <c>contents.fp32_contents</c> or
/// <c>raw_input_contents</c>, outputs as <c>raw_output_contents</c>. Errors are the protocol's status codes with a
/// message naming the problem: NOT_FOUND (unknown model or version), INVALID_ARGUMENT (malformed request),
/// RESOURCE_EXHAUSTED (overloaded), UNAVAILABLE, DEADLINE_EXCEEDED.
/// </summary>
internal sealed partial class InferenceGrpcService(
    IServedModelCatalog catalog,
    PredictionFanOut fanOut,
    IGatewayReadiness readiness,
    IOptions<GatewayOptions> options,
    GatewayInstruments instruments,
    TimeProvider time,
    ILogger<InferenceGrpcService> logger) : GRPCInferenceService.GRPCInferenceServiceBase
{
    /// <summary>The trailer gRPC retry policies read to wait before retrying (milliseconds).</summary>
    internal const string RetryPushbackTrailer = "grpc-retry-pushback-ms";

    private static readonly string ServerVersion = typeof(InferenceGrpcService).Assembly.GetName().Version?.ToString(3) ?? "0.0.0";

    private readonly GatewayOptions _options = options.Value;

    /// <summary>Live as long as the process serves gRPC: restarting it would not bring the cluster back.</summary>
    public override Task<ServerLiveResponse> ServerLive(ServerLiveRequest request, ServerCallContext context) =>
        Task.FromResult(new ServerLiveResponse { Live = true });

    public override async Task<ServerReadyResponse> ServerReady(ServerReadyRequest request, ServerCallContext context) =>
        new() { Ready = await IsReadyAsync(context.CancellationToken) };

    public override async Task<ModelReadyResponse> ModelReady(ModelReadyRequest request, ServerCallContext context)
    {
        Find(request.Name, request.Version);
        return new ModelReadyResponse { Ready = await IsReadyAsync(context.CancellationToken) };
    }

    public override Task<ServerMetadataResponse> ServerMetadata(ServerMetadataRequest request, ServerCallContext context)
    {
        var response = new ServerMetadataResponse { Name = "asymcdc", Version = ServerVersion };
        response.Extensions.AddRange(InferResponseWriter.Extensions);
        return Task.FromResult(response);
    }

    public override Task<ModelMetadataResponse> ModelMetadata(ModelMetadataRequest request, ServerCallContext context)
    {
        var model = Find(request.Name, request.Version).Model!;
        var response = new ModelMetadataResponse { Name = model.Name, Platform = model.Platform };
        response.Versions.AddRange(model.Versions);
        response.Inputs.Add(Tensor(model.Input.Name, ServedInput.Datatype, model.Input.Shape));
        foreach (var output in model.Outputs)
        {
            response.Outputs.Add(Tensor(output.Name, output.Datatype, model.ShapeOf(output)));
        }

        return Task.FromResult(response);

        static ModelMetadataResponse.Types.TensorMetadata Tensor(string name, string datatype, IReadOnlyList<long> shape)
        {
            var tensor = new ModelMetadataResponse.Types.TensorMetadata { Name = name, Datatype = datatype };
            tensor.Shape.AddRange(shape);
            return tensor;
        }
    }

    public override async Task<ModelInferResponse> ModelInfer(ModelInferRequest request, ServerCallContext context)
    {
        var started = time.GetTimestamp();
        var code = StatusCode.OK;
        try
        {
            var lookup = Find(request.ModelName, request.ModelVersion);
            var model = lookup.Model!;
            InferRequest parsed;
            try
            {
                parsed = Decode(request, model, context);
            }
            catch (InferRequestException e)
            {
                LogRejected(logger, e.Message);
                throw new RpcException(new Status(StatusCode.InvalidArgument, e.Message));
            }

            var result = await fanOut.PredictAsync(model, parsed);
            if (result.Predictions is not { } predictions)
            {
                throw Failed(result.Failure!);
            }

            return Encode(model, lookup.Version, request.Id, predictions, parsed.Outputs);
        }
        catch (RpcException e)
        {
            code = e.StatusCode;
            throw;
        }
        finally
        {
            instruments.RecordGrpcRequest(code, time.GetElapsedTime(started));
        }
    }

    /// <summary>The gRPC status for what the cluster threw: the same message as the REST answer, the protocol's code.
    /// A retryable refusal carries <see cref="RetryPushbackTrailer"/> (<see cref="GatewayOptions.RetryAfter"/>).</summary>
    internal static RpcException ToRpcException(Exception failure, TimeSpan retryAfter)
    {
        var message = GatewayError.From(failure).Message;
        var code = failure switch
        {
            PredictionException { Code: PredictionErrorCode.Overloaded } => StatusCode.ResourceExhausted,
            PredictionException { Code: PredictionErrorCode.Unavailable } => StatusCode.Unavailable,
            PredictionException { Code: PredictionErrorCode.DeadlineExceeded } => StatusCode.DeadlineExceeded,
            PredictionException { Code: PredictionErrorCode.UnknownModel } => StatusCode.NotFound,
            PredictionException => StatusCode.InvalidArgument,
            TimeoutException => StatusCode.DeadlineExceeded,
            SiloUnavailableException or OrleansMessageRejectionException or ClientNotAvailableException => StatusCode.Unavailable,
            _ => StatusCode.Internal,
        };

        var trailers = new Metadata();
        if (code is StatusCode.ResourceExhausted or StatusCode.Unavailable)
        {
            trailers.Add(RetryPushbackTrailer, ((long)Math.Ceiling(retryAfter.TotalMilliseconds)).ToString(CultureInfo.InvariantCulture));
        }

        return new RpcException(new Status(code, message), trailers);
    }

    private RpcException Failed(Exception failure)
    {
        var exception = ToRpcException(failure, _options.RetryAfter);
        if (exception.StatusCode == StatusCode.Internal)
        {
            LogUnexpectedFailure(logger, failure);
        }
        else
        {
            LogPredictionFailed(logger, exception.StatusCode, exception.Status.Detail);
        }

        return exception;
    }

    private ModelLookup Find(string name, string version)
    {
        var lookup = ModelLookup.Find(catalog, name, version);
        return lookup.Model is null ? throw new RpcException(new Status(StatusCode.NotFound, lookup.NotFound!)) : lookup;
    }

    /// <summary>Checks the request as the REST parser does (same order, same words) and turns it into an
    /// <see cref="InferRequest"/>. Proto3 sends an absent string as "", so "" counts as absent.</summary>
    private InferRequest Decode(ModelInferRequest request, ServedModel model, ServerCallContext context)
    {
        if (request.Inputs.Count == 0)
        {
            throw InputRules.NoInputs(model);
        }

        if (request.Inputs.Count > 1)
        {
            throw InputRules.TooManyInputs(model, request.Inputs.Count);
        }

        var input = request.Inputs[0];
        var batch = InputRules.CheckSignature(
            model, NullIfEmpty(input.Name), NullIfEmpty(input.Datatype), input.Shape.Count == 0 ? null : input.Shape, _options.MaxBatchSize);
        var images = request.RawInputContents.Count > 0
            ? RawRows(request, model.Input, batch)
            : Fp32Rows(input, model.Input, batch);

        ServingMode? mode = null;
        TimeSpan? timeout = null;
        if (request.Parameters.TryGetValue("mode", out var modeParameter))
        {
            mode = modeParameter.ParameterChoiceCase == InferParameter.ParameterChoiceOneofCase.StringParam
                ? InferRequestParser.ParseMode(modeParameter.StringParam)
                : throw new InferRequestException($"parameters.mode must be a string_param, one of: {InferRequestParser.ModeNames}");
        }

        if (request.Parameters.TryGetValue("timeout_ms", out var timeoutParameter))
        {
            timeout = timeoutParameter.ParameterChoiceCase switch
            {
                InferParameter.ParameterChoiceOneofCase.Int64Param => InferRequestParser.ParseTimeout(timeoutParameter.Int64Param),
                InferParameter.ParameterChoiceOneofCase.Uint64Param => InferRequestParser.ParseTimeout(timeoutParameter.Uint64Param),
                InferParameter.ParameterChoiceOneofCase.DoubleParam => InferRequestParser.ParseTimeout(timeoutParameter.DoubleParam),
                _ => throw InferRequestParser.InvalidTimeout(),
            };
        }

        // Without timeout_ms the call's own gRPC deadline bounds each item's query: an answer after it is useless.
        if (timeout is null && context.Deadline < DateTime.MaxValue && context.Deadline - time.GetUtcNow().UtcDateTime is { Ticks: > 0 } left)
        {
            timeout = left;
        }

        InferOutputs outputs = 0;
        for (var i = 0; i < request.Outputs.Count; i++)
        {
            outputs |= InferRequestParser.RequestedOutput(model, NullIfEmpty(request.Outputs[i].Name), $"outputs[{i}]");
        }

        return new InferRequest(NullIfEmpty(request.Id), images, mode, timeout, outputs == 0 ? model.AllOutputs : outputs);
    }

    private static float[][] RawRows(ModelInferRequest request, ServedInput input, int batch)
    {
        if (request.Inputs[0].Contents is { } contents && HasValues(contents))
        {
            throw new InferRequestException($"input \"{input.Name}\" has both contents and raw_input_contents; send its values one way");
        }

        if (request.RawInputContents.Count != request.Inputs.Count)
        {
            throw new InferRequestException(
                $"raw_input_contents has {request.RawInputContents.Count} entries but the request has {request.Inputs.Count} input; send one entry per input, in the order of inputs");
        }

        var raw = request.RawInputContents[0];
        var values = (long)batch * input.ItemLength;
        var bytes = values * sizeof(float);
        if (raw.Length != bytes)
        {
            throw new InferRequestException(
                $"input \"{input.Name}\" has {raw.Length} bytes in raw_input_contents[0] but shape [{batch},{string.Join(',', input.ItemShape)}] of {ServedInput.Datatype} needs {bytes} bytes ({values} values × 4, little-endian)");
        }

        return InputRules.RowsFromLittleEndian(input, new ReadOnlySequence<byte>(raw.Memory), batch, "raw_input_contents[0]");
    }

    private static float[][] Fp32Rows(ModelInferRequest.Types.InferInputTensor tensor, ServedInput input, int batch)
    {
        var values = tensor.Contents?.Fp32Contents;
        var expected = (long)batch * input.ItemLength;
        if (values is null || values.Count == 0)
        {
            throw new InferRequestException(tensor.Contents is { } contents && HasValues(contents)
                ? $"input \"{input.Name}\" has its values in a contents field other than fp32_contents; {ServedInput.Datatype} values go in contents.fp32_contents or raw_input_contents"
                : $"input \"{input.Name}\" has no values; send them in contents.fp32_contents or raw_input_contents");
        }

        if (values.Count != expected)
        {
            throw new InferRequestException(
                $"input \"{input.Name}\" has {values.Count} values in contents.fp32_contents but shape [{batch},{string.Join(',', input.ItemShape)}] needs {expected}");
        }

        var length = input.ItemLength;
        var rows = new float[batch][];
        for (var i = 0; i < batch; i++)
        {
            var row = new float[length];
            for (var j = 0; j < length; j++)
            {
                row[j] = values[(i * length) + j];
            }

            if (InputRules.FirstInvalid(input, row) is var bad and >= 0)
            {
                throw InputRules.BadValue(input, "contents.fp32_contents", ((long)i * length) + bad, InputRules.Format(row[bad]));
            }

            rows[i] = row;
        }

        return rows;
    }

    private static bool HasValues(InferTensorContents contents) =>
        contents.Fp32Contents.Count > 0 || contents.Fp64Contents.Count > 0 || contents.IntContents.Count > 0 || contents.Int64Contents.Count > 0
        || contents.UintContents.Count > 0 || contents.Uint64Contents.Count > 0 || contents.BoolContents.Count > 0 || contents.BytesContents.Count > 0;

    /// <summary>The answer: the requested outputs in the model's order, each as <c>raw_output_contents</c>
    /// (row-major little-endian), and how each item was served in <c>parameters</c> (comma-separated, in request order).</summary>
    private static ModelInferResponse Encode(ServedModel model, string version, string id, Prediction[] predictions, InferOutputs outputs)
    {
        var response = new ModelInferResponse { ModelName = model.Name, ModelVersion = version, Id = id };
        foreach (var output in model.Outputs)
        {
            if ((outputs & output.Source) == 0)
            {
                continue;
            }

            var tensor = new ModelInferResponse.Types.InferOutputTensor { Name = output.Name, Datatype = output.Datatype };
            tensor.Shape.AddRange(model.ShapeOf(output));
            tensor.Shape[0] = predictions.Length;
            response.Outputs.Add(tensor);
            var raw = new ArrayBufferWriter<byte>((int)InferResponseWriter.BinarySize(model, output, predictions.Length));
            InferResponseWriter.WriteRaw(raw, output, predictions);
            response.RawOutputContents.Add(UnsafeByteOperations.UnsafeWrap(raw.WrittenMemory));
        }

        response.Parameters["mode"] = new InferParameter { StringParam = predictions[0].Mode.ToName() };
        response.Parameters["served_by"] = new InferParameter { StringParam = string.Join(',', predictions.Select(p => p.ServedBy.ToName())) };
        response.Parameters["latency_ms"] = new InferParameter
        {
            StringParam = string.Join(',', predictions.Select(p => p.LatencyMs.ToString("0.###", CultureInfo.InvariantCulture))),
        };
        return response;
    }

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

    private static string? NullIfEmpty(string value) => value.Length == 0 ? null : value;
}
