using System.Buffers;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>
/// Parses an Open Inference Protocol (KServe v2) infer request for a <see cref="ServedModel"/> (Fashion-MNIST unless
/// told otherwise: one input named <c>input</c>, FP32, shape [N, 1, 28, 28], pixels in [0, 1]), with the values in
/// <c>data</c> (flat or nested row-major) or, with the binary tensor data extension, as raw little-endian bytes after
/// the JSON (<c>Inference-Header-Content-Length</c> gives the JSON's length, each input's
/// <c>parameters.binary_data_size</c> its bytes). Reads the JSON once with <see cref="Utf8JsonReader"/> straight into
/// N arrays (no DOM, no boxing). Pure: every problem becomes an <see cref="InferRequestException"/> whose message names it.
/// </summary>
public static class InferRequestParser
{
    public const string InputName = "input";
    public const string InputDatatype = "FP32";
    public const string LogitsOutput = "logits";
    public const string LabelOutput = "label";
    public const int Channels = 1;
    public const int Height = 28;
    public const int Width = 28;

    /// <summary>The binary tensor data extension's header: the length in bytes of the JSON at the start of the body.</summary>
    public const string HeaderContentLength = "Inference-Header-Content-Length";

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    /// <summary>A JSON-only request for Fashion-MNIST.</summary>
    public static InferRequest Parse(ReadOnlySpan<byte> utf8Json, int maxBatchSize) =>
        Parse(new Utf8JsonReader(utf8Json, ReaderOptions), utf8Json.Trim(" \t\r\n"u8).IsEmpty, ServedModels.FashionMnist, maxBatchSize, binary: null);

    /// <summary>A JSON-only request for Fashion-MNIST.</summary>
    public static InferRequest Parse(ReadOnlySequence<byte> utf8Json, int maxBatchSize) =>
        Parse(utf8Json, ServedModels.FashionMnist, maxBatchSize, jsonLength: null);

    /// <summary>
    /// A request for <paramref name="model"/>. <paramref name="jsonLength"/> is the request's
    /// <c>Inference-Header-Content-Length</c>: null for a JSON-only body; otherwise the body is that many bytes of JSON
    /// followed by the inputs' binary data, in the order of <c>inputs</c>.
    /// </summary>
    public static InferRequest Parse(ReadOnlySequence<byte> body, ServedModel model, int maxBatchSize, long? jsonLength)
    {
        ArgumentNullException.ThrowIfNull(model);
        BinaryPart? binary = null;
        var json = body;
        if (jsonLength is { } length)
        {
            if (length < 0 || length > body.Length)
            {
                throw Invalid($"{HeaderContentLength} is {length} but the body has {body.Length} bytes; it must give the length of the JSON at the start of the body (0..{body.Length})");
            }

            json = body.Slice(0, length);
            binary = new BinaryPart(body.Slice(length), length);
        }

        return json.IsSingleSegment
            ? Parse(new Utf8JsonReader(json.FirstSpan, ReaderOptions), json.FirstSpan.Trim(" \t\r\n"u8).IsEmpty, model, maxBatchSize, binary)
            : Parse(new Utf8JsonReader(json, ReaderOptions), isEmpty: false, model, maxBatchSize, binary);
    }

    /// <summary>Reads an <c>Inference-Header-Content-Length</c> value: null when the header is absent.</summary>
    public static long? ParseHeaderContentLength(string? value) =>
        value is null ? null
        : long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var length) ? length
        : throw Invalid($"{HeaderContentLength} is '{value}'; it must be the length in bytes of the JSON at the start of the body, e.g. 152");

    /// <summary>
    /// A repository index request (<c>POST /v2/repository/index</c>): an empty body or <c>{}</c> asks for every model,
    /// <c>{"ready": true}</c> for the ready ones only. Returns whether only ready models are wanted.
    /// </summary>
    public static bool ParseRepositoryIndexRequest(ReadOnlySequence<byte> body)
    {
        if (IsBlank(body))
        {
            return false;
        }

        var reader = new Utf8JsonReader(body, ReaderOptions);
        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid("a repository index request must be empty or a JSON object such as {\"ready\": true}");
            }

            var onlyReady = false;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isReady = reader.ValueTextEquals("ready"u8);
                reader.Read();
                if (!isReady)
                {
                    reader.Skip();
                    continue;
                }

                onlyReady = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw Invalid("\"ready\" in a repository index request must be true or false"),
                };
            }

            reader.Read();
            return onlyReady;
        }
        catch (JsonException e)
        {
            throw Invalid($"request body is not valid JSON: {e.Message}");
        }
    }

    private static bool IsBlank(ReadOnlySequence<byte> body)
    {
        foreach (var segment in body)
        {
            if (!segment.Span.Trim(" \t\r\n"u8).IsEmpty)
            {
                return false;
            }
        }

        return true;
    }

    private static InferRequest Parse(Utf8JsonReader reader, bool isEmpty, ServedModel model, int maxBatchSize, BinaryPart? binary)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(maxBatchSize, 1);
        if (isEmpty)
        {
            throw Invalid("request body is empty; send a JSON object with \"inputs\"");
        }

        try
        {
            reader.Read();
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid("request body must be a JSON object with \"inputs\"");
            }

            string? id = null;
            var parameters = default(RequestParameters);
            RequestedOutputs? outputs = null;
            ParsedInput? input = null;
            var inputCount = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("inputs"u8))
                {
                    reader.Read();
                    (input, inputCount) = ReadInputs(ref reader, model, maxBatchSize);
                }
                else if (reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    id = reader.TokenType == JsonTokenType.String
                        ? reader.GetString()
                        : throw Invalid("\"id\" must be a string");
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    parameters = ReadParameters(ref reader);
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    reader.Read();
                    outputs = ReadRequestedOutputs(ref reader, model);
                }
                else
                {
                    // KServe lets clients send extensions; ignoring unknown members keeps them working.
                    reader.Read();
                    reader.Skip();
                }
            }

            // Anything after the root object is not one JSON value; the reader throws for it.
            reader.Read();

            if (input is null || inputCount == 0)
            {
                throw InputRules.NoInputs(model);
            }

            if (inputCount > 1)
            {
                throw InputRules.TooManyInputs(model, inputCount);
            }

            var images = input.Validate(model, maxBatchSize, binary);
            var wanted = outputs?.Outputs ?? model.AllOutputs;
            // An output's own binary_data wins; otherwise the request's binary_data_output says (Triton's rule).
            var binaryOutputs = (outputs?.BinaryOn ?? 0) | (parameters.BinaryDataOutput ? wanted & ~(outputs?.BinaryOff ?? 0) : 0);
            return new InferRequest(id, images, parameters.Mode, parameters.Timeout, wanted) { BinaryOutputs = binaryOutputs & wanted };
        }
        catch (JsonException e)
        {
            throw Invalid($"request body is not valid JSON: {e.Message}");
        }
    }

    private static (ParsedInput? First, int Count) ReadInputs(ref Utf8JsonReader reader, ServedModel model, int maxBatchSize)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Invalid("\"inputs\" must be an array of input tensors");
        }

        ParsedInput? first = null;
        var count = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid($"inputs[{count}] must be an object with \"name\", \"datatype\", \"shape\" and \"data\"");
            }

            if (count == 0)
            {
                first = ReadInput(ref reader, model.Input, maxBatchSize);
            }
            else
            {
                reader.Skip();
            }

            count++;
        }

        return (first, count);
    }

    private static ParsedInput ReadInput(ref Utf8JsonReader reader, ServedInput spec, int maxBatchSize)
    {
        var input = new ParsedInput(spec, maxBatchSize);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("name"u8))
            {
                reader.Read();
                input.Name = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw Invalid("inputs[0].name must be a string");
            }
            else if (reader.ValueTextEquals("datatype"u8))
            {
                reader.Read();
                input.Datatype = reader.TokenType == JsonTokenType.String ? reader.GetString() : throw Invalid("inputs[0].datatype must be a string");
            }
            else if (reader.ValueTextEquals("shape"u8))
            {
                reader.Read();
                input.Shape = ReadShape(ref reader);
            }
            else if (reader.ValueTextEquals("data"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.StartArray)
                {
                    throw Invalid("inputs[0].data must be an array of numbers (flat or nested row-major)");
                }

                input.ReadData(ref reader);
            }
            else if (reader.ValueTextEquals("parameters"u8))
            {
                reader.Read();
                input.BinaryDataSize = ReadInputParameters(ref reader);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return input;
    }

    /// <summary>An input's <c>parameters</c>: its <c>binary_data_size</c>, if any; the others are ignored.</summary>
    private static long? ReadInputParameters(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid("inputs[0].parameters must be an object");
        }

        long? binaryDataSize = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            var isSize = reader.ValueTextEquals("binary_data_size"u8);
            reader.Read();
            if (!isSize)
            {
                reader.Skip();
            }
            else if (reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var size) && size >= 0)
            {
                binaryDataSize = size;
            }
            else
            {
                throw Invalid("inputs[0].parameters.binary_data_size must be a whole number of bytes (0 or more)");
            }
        }

        return binaryDataSize;
    }

    private static List<long> ReadShape(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Invalid("inputs[0].shape must be an array of integers, e.g. [1,1,28,28]");
        }

        var shape = new List<long>(4);
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.Number || !reader.TryGetInt64(out var dimension))
            {
                throw Invalid("inputs[0].shape must be an array of integers, e.g. [1,1,28,28]");
            }

            shape.Add(dimension);
        }

        return shape;
    }

    private static RequestParameters ReadParameters(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid("\"parameters\" must be an object");
        }

        var parameters = default(RequestParameters);
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("mode"u8))
            {
                reader.Read();
                parameters.Mode = reader.TokenType == JsonTokenType.String
                    ? ParseMode(reader.GetString())
                    : throw Invalid($"parameters.mode must be a string, one of: {ModeNames}");
            }
            else if (reader.ValueTextEquals("timeout_ms"u8))
            {
                reader.Read();
                parameters.Timeout = reader.TokenType == JsonTokenType.Number && reader.TryGetDouble(out var milliseconds)
                    ? ParseTimeout(milliseconds)
                    : throw InvalidTimeout();
            }
            else if (reader.ValueTextEquals("binary_data_output"u8))
            {
                reader.Read();
                parameters.BinaryDataOutput = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw Invalid("parameters.binary_data_output must be true or false"),
                };
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return parameters;
    }

    /// <summary>A <c>parameters.mode</c> value, shared with the gRPC service.</summary>
    internal static ServingMode ParseMode(string? name) =>
        ServingModes.TryParse(name, out var parsed)
            ? parsed
            : throw Invalid($"unknown serving mode '{name}' in parameters.mode; expected one of: {ModeNames}");

    /// <summary>A <c>parameters.timeout_ms</c> value, shared with the gRPC service.</summary>
    internal static TimeSpan ParseTimeout(double milliseconds) =>
        double.IsFinite(milliseconds) && milliseconds > 0 && milliseconds <= TimeSpan.MaxValue.TotalMilliseconds
            ? TimeSpan.FromMilliseconds(milliseconds)
            : throw InvalidTimeout();

    internal static InferRequestException InvalidTimeout() => Invalid("parameters.timeout_ms must be a positive number of milliseconds");

    private static RequestedOutputs ReadRequestedOutputs(ref Utf8JsonReader reader, ServedModel model)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Invalid($"\"outputs\" must be an array of objects naming {OutputNames(model, " or ")}");
        }

        var requested = default(RequestedOutputs);
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid($"outputs[{index}] must be an object with a \"name\"");
            }

            string? name = null;
            bool? binaryData = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("name"u8))
                {
                    reader.Read();
                    if (reader.TokenType == JsonTokenType.String)
                    {
                        name = reader.GetString();
                    }
                    else
                    {
                        reader.Skip();
                    }
                }
                else if (reader.ValueTextEquals("parameters"u8))
                {
                    reader.Read();
                    binaryData = ReadOutputParameters(ref reader, index);
                }
                else
                {
                    reader.Read();
                    reader.Skip();
                }
            }

            var source = RequestedOutput(model, name, $"outputs[{index}]");
            requested.Outputs |= source;
            if (binaryData is { } binary)
            {
                if (binary)
                {
                    requested.BinaryOn |= source;
                }
                else
                {
                    requested.BinaryOff |= source;
                }
            }

            index++;
        }

        // An empty list means "no preference", as when "outputs" is absent.
        if (requested.Outputs == 0)
        {
            requested.Outputs = model.AllOutputs;
        }

        return requested;
    }

    /// <summary>An output's <c>parameters</c>: its <c>binary_data</c>, if given. Triton's <c>classification</c> would
    /// change what the output holds, so it is refused rather than ignored.</summary>
    private static bool? ReadOutputParameters(ref Utf8JsonReader reader, int index)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid($"outputs[{index}].parameters must be an object");
        }

        bool? binaryData = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("binary_data"u8))
            {
                reader.Read();
                binaryData = reader.TokenType switch
                {
                    JsonTokenType.True => true,
                    JsonTokenType.False => false,
                    _ => throw Invalid($"outputs[{index}].parameters.binary_data must be true or false"),
                };
            }
            else if (reader.ValueTextEquals("classification"u8))
            {
                reader.Read();
                if (!(reader.TokenType == JsonTokenType.Number && reader.TryGetInt64(out var classes) && classes == 0))
                {
                    throw Invalid($"outputs[{index}].parameters.classification is not supported; ask for the model's outputs as they are (its label output is its own prediction)");
                }
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return binaryData;
    }

    /// <summary>The output a request names (<paramref name="where"/> says where, for the message); shared with gRPC.</summary>
    internal static InferOutputs RequestedOutput(ServedModel model, string? name, string where) =>
        name is null ? throw Invalid($"{where} has no \"name\"; expected {OutputNames(model, " or ")}")
        : model.FindOutput(name) is { } output ? output.Source
        : throw Invalid($"unknown output '{name}' in {where}; the model has {OutputNames(model, " and ")}");

    private static string OutputNames(ServedModel model, string separator) =>
        string.Join(separator, model.Outputs.Select(o => $"\"{o.Name}\""));

    internal static string ModeNames => string.Join(", ", ServingModes.All.Select(m => m.ToName()));

    private static InferRequestException Invalid(string message) => new(message);

    private struct RequestParameters
    {
        public ServingMode? Mode;
        public TimeSpan? Timeout;
        public bool BinaryDataOutput;
    }

    private struct RequestedOutputs
    {
        public InferOutputs Outputs;
        public InferOutputs BinaryOn;
        public InferOutputs BinaryOff;
    }

    /// <summary>The bytes after the JSON of a binary-extension request, and the JSON's length (for messages).</summary>
    private readonly record struct BinaryPart(ReadOnlySequence<byte> Bytes, long JsonLength);

    /// <summary>One input tensor as read. Members can arrive in any order, so every check waits until the
    /// object is complete and then reports the most fundamental problem first (name, datatype, shape, length,
    /// values) rather than whichever the body happened to list first.</summary>
    private sealed class ParsedInput(ServedInput spec, int maxBatchSize)
    {
        private readonly List<float[]> _images = [];
        private readonly int _itemLength = spec.ItemLength;
        private readonly long _capacity = (long)maxBatchSize * spec.ItemLength;
        private float[]? _current;
        private long _count;
        private bool _hasData;
        private long _firstBadIndex = -1;
        private string? _firstBadValue;

        public string? Name { get; set; }

        public string? Datatype { get; set; }

        public List<long>? Shape { get; set; }

        public long? BinaryDataSize { get; set; }

        public void ReadData(ref Utf8JsonReader reader)
        {
            _hasData = true;
            var depth = 1;
            while (depth > 0 && reader.Read())
            {
                switch (reader.TokenType)
                {
                    case JsonTokenType.StartArray:
                        depth++;
                        break;
                    case JsonTokenType.EndArray:
                        depth--;
                        break;
                    case JsonTokenType.Number:
                        // TryGetSingle fails for magnitudes beyond float's range: those are ±∞ as FP32.
                        Add(reader.TryGetSingle(out var value) ? value : float.PositiveInfinity, ref reader);
                        break;
                    case JsonTokenType.String when IsNamedNonFinite(ref reader):
                        // Some clients spell non-finite floats as strings; name them rather than "not a number".
                        Add(float.NaN, ref reader);
                        break;
                    default:
                        throw Invalid($"inputs[0].data[{_count}] is {Describe(reader.TokenType)}; data must hold numbers only (flat or nested arrays)");
                }
            }
        }

        public float[][] Validate(ServedModel model, int maxBatchSize, BinaryPart? binary)
        {
            var batch = InputRules.CheckSignature(model, Name, Datatype, Shape, maxBatchSize);
            var shape = InputRules.ShapeText(Shape!);
            var expected = (long)batch * _itemLength;
            if (BinaryDataSize is > 0 && _hasData)
            {
                throw Invalid($"input \"{spec.Name}\" has both \"data\" and parameters.binary_data_size = {BinaryDataSize}; send its values one way");
            }

            if (BinaryDataSize is { } size && !_hasData)
            {
                // The binary tensor data extension: the values are the bytes after the JSON.
                if (binary is not { } part)
                {
                    throw Invalid($"input \"{spec.Name}\" has parameters.binary_data_size = {size} but the request has no {HeaderContentLength} header; send the length of the JSON in it and the {size} bytes after the JSON");
                }

                var expectedBytes = expected * sizeof(float);
                if (size != expectedBytes)
                {
                    throw Invalid($"input \"{spec.Name}\" has parameters.binary_data_size = {size} but shape {shape} of {ServedInput.Datatype} needs {expectedBytes} bytes ({expected} values × 4)");
                }

                CheckBinaryLength(part, size);
                return InputRules.RowsFromLittleEndian(spec, part.Bytes, batch, "binary data");
            }

            if (!_hasData)
            {
                throw Invalid($"input \"{spec.Name}\" has no \"data\"; send its values in \"data\", or as binary data after the JSON with parameters.binary_data_size");
            }

            if (_count != expected)
            {
                throw Invalid($"input \"{spec.Name}\" has {_count} values in \"data\" but shape {shape} needs {expected}");
            }

            if (binary is { } extra)
            {
                CheckBinaryLength(extra, 0);
            }

            if (_firstBadIndex >= 0)
            {
                throw InputRules.BadValue(spec, "data", _firstBadIndex, _firstBadValue!);
            }

            return [.. _images];
        }

        private static void CheckBinaryLength(BinaryPart part, long declared)
        {
            if (part.Bytes.Length != declared)
            {
                throw Invalid($"the body has {part.Bytes.Length} bytes after its {part.JsonLength}-byte JSON ({HeaderContentLength}) but the inputs' parameters.binary_data_size add up to {declared}; they must be equal");
            }
        }

        private void Add(float value, ref Utf8JsonReader reader)
        {
            // NaN fails both comparisons, so this one test catches NaN, ±∞ and out-of-range values.
            if (_firstBadIndex < 0 && !(value >= spec.Min && value <= spec.Max))
            {
                _firstBadIndex = _count;
                _firstBadValue = float.IsFinite(value)
                    ? InputRules.Format(value)
                    : reader.TokenType == JsonTokenType.String ? reader.GetString() : "outside the FP32 range";
            }

            // Past the largest allowed batch only count, so an oversized body cannot make us allocate.
            if (_count < _capacity)
            {
                var offset = (int)(_count % _itemLength);
                if (offset == 0)
                {
                    _current = new float[_itemLength];
                    _images.Add(_current);
                }

                _current![offset] = value;
            }

            _count++;
        }

        private static bool IsNamedNonFinite(ref Utf8JsonReader reader) =>
            reader.ValueTextEquals("NaN"u8) || reader.ValueTextEquals("Infinity"u8) || reader.ValueTextEquals("-Infinity"u8)
            || reader.ValueTextEquals("inf"u8) || reader.ValueTextEquals("-inf"u8) || reader.ValueTextEquals("nan"u8);

        private static string Describe(JsonTokenType token) => token switch
        {
            JsonTokenType.String => "a string",
            JsonTokenType.True or JsonTokenType.False => "a boolean",
            JsonTokenType.Null => "null",
            JsonTokenType.StartObject => "an object",
            _ => token.ToString(),
        };
    }
}
