using System.Buffers;
using System.Globalization;
using System.Text.Json;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway;

/// <summary>
/// Parses an Open Inference Protocol (KServe v2) infer request for the Fashion-MNIST classifier:
/// one input named <c>input</c>, FP32, shape [N, 1, 28, 28], data flat or nested row-major, pixels in [0, 1].
/// Reads the body once with <see cref="Utf8JsonReader"/> straight into N pixel arrays (no DOM, no boxing).
/// Pure: every problem becomes an <see cref="InferRequestException"/> whose message names it.
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
    private const int ImageLength = PredictionRequest.InputLength;

    private static readonly JsonReaderOptions ReaderOptions = new() { MaxDepth = 64 };

    public static InferRequest Parse(ReadOnlySpan<byte> utf8Json, int maxBatchSize) =>
        Parse(new Utf8JsonReader(utf8Json, ReaderOptions), utf8Json.Trim(" \t\r\n"u8).IsEmpty, maxBatchSize);

    public static InferRequest Parse(ReadOnlySequence<byte> utf8Json, int maxBatchSize) =>
        utf8Json.IsSingleSegment
            ? Parse(utf8Json.FirstSpan, maxBatchSize)
            : Parse(new Utf8JsonReader(utf8Json, ReaderOptions), isEmpty: false, maxBatchSize);

    private static InferRequest Parse(Utf8JsonReader reader, bool isEmpty, int maxBatchSize)
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
            ServingMode? mode = null;
            TimeSpan? timeout = null;
            var outputs = InferOutputs.All;
            ParsedInput? input = null;
            var inputCount = -1;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                if (reader.ValueTextEquals("inputs"u8))
                {
                    reader.Read();
                    (input, inputCount) = ReadInputs(ref reader, maxBatchSize);
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
                    (mode, timeout) = ReadParameters(ref reader);
                }
                else if (reader.ValueTextEquals("outputs"u8))
                {
                    reader.Read();
                    outputs = ReadRequestedOutputs(ref reader);
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
                throw Invalid($"request has no \"inputs\"; send one input named \"{InputName}\" with datatype {InputDatatype} and shape [N,1,28,28]");
            }

            if (inputCount > 1)
            {
                throw Invalid($"request has {inputCount} inputs; the model takes exactly one, named \"{InputName}\"");
            }

            return new InferRequest(id, input.Validate(maxBatchSize), mode, timeout, outputs);
        }
        catch (JsonException e)
        {
            throw Invalid($"request body is not valid JSON: {e.Message}");
        }
    }

    private static (ParsedInput? First, int Count) ReadInputs(ref Utf8JsonReader reader, int maxBatchSize)
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
                first = ReadInput(ref reader, maxBatchSize);
            }
            else
            {
                reader.Skip();
            }

            count++;
        }

        return (first, count);
    }

    private static ParsedInput ReadInput(ref Utf8JsonReader reader, int maxBatchSize)
    {
        var input = new ParsedInput(maxBatchSize);
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
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return input;
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

    private static (ServingMode? Mode, TimeSpan? Timeout) ReadParameters(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartObject)
        {
            throw Invalid("\"parameters\" must be an object");
        }

        ServingMode? mode = null;
        TimeSpan? timeout = null;
        while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
        {
            if (reader.ValueTextEquals("mode"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    throw Invalid($"parameters.mode must be a string, one of: {ModeNames}");
                }

                var name = reader.GetString();
                mode = ServingModes.TryParse(name, out var parsed)
                    ? parsed
                    : throw Invalid($"unknown serving mode '{name}' in parameters.mode; expected one of: {ModeNames}");
            }
            else if (reader.ValueTextEquals("timeout_ms"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.Number || !reader.TryGetDouble(out var milliseconds)
                    || !double.IsFinite(milliseconds) || milliseconds <= 0 || milliseconds > TimeSpan.MaxValue.TotalMilliseconds)
                {
                    throw Invalid("parameters.timeout_ms must be a positive number of milliseconds");
                }

                timeout = TimeSpan.FromMilliseconds(milliseconds);
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        return (mode, timeout);
    }

    private static InferOutputs ReadRequestedOutputs(ref Utf8JsonReader reader)
    {
        if (reader.TokenType != JsonTokenType.StartArray)
        {
            throw Invalid($"\"outputs\" must be an array of objects naming \"{LogitsOutput}\" or \"{LabelOutput}\"");
        }

        InferOutputs outputs = 0;
        var index = 0;
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
        {
            if (reader.TokenType != JsonTokenType.StartObject)
            {
                throw Invalid($"outputs[{index}] must be an object with a \"name\"");
            }

            string? name = null;
            while (reader.Read() && reader.TokenType == JsonTokenType.PropertyName)
            {
                var isName = reader.ValueTextEquals("name"u8);
                reader.Read();
                if (isName && reader.TokenType == JsonTokenType.String)
                {
                    name = reader.GetString();
                }
                else
                {
                    reader.Skip();
                }
            }

            outputs |= name switch
            {
                LogitsOutput => InferOutputs.Logits,
                LabelOutput => InferOutputs.Label,
                null => throw Invalid($"outputs[{index}] has no \"name\"; expected \"{LogitsOutput}\" or \"{LabelOutput}\""),
                _ => throw Invalid($"unknown output '{name}' in outputs[{index}]; the model has \"{LogitsOutput}\" and \"{LabelOutput}\""),
            };
            index++;
        }

        // An empty list means "no preference", as when "outputs" is absent.
        return outputs == 0 ? InferOutputs.All : outputs;
    }

    private static string ModeNames => string.Join(", ", ServingModes.All.Select(m => m.ToName()));

    private static InferRequestException Invalid(string message) => new(message);

    /// <summary>One input tensor as read. Members can arrive in any order, so every check waits until the
    /// object is complete and then reports the most fundamental problem first (name, datatype, shape, length,
    /// values) rather than whichever the body happened to list first.</summary>
    private sealed class ParsedInput(int maxBatchSize)
    {
        private readonly List<float[]> _images = [];
        private readonly long _capacity = (long)maxBatchSize * ImageLength;
        private float[]? _current;
        private long _count;
        private bool _hasData;
        private long _firstBadIndex = -1;
        private string? _firstBadValue;

        public string? Name { get; set; }

        public string? Datatype { get; set; }

        public List<long>? Shape { get; set; }

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

        public float[][] Validate(int maxBatchSize)
        {
            if (!string.Equals(Name, InputName, StringComparison.Ordinal))
            {
                throw Invalid(Name is null
                    ? $"inputs[0] has no \"name\"; the model's input is named \"{InputName}\""
                    : $"unknown input '{Name}'; the model's input is named \"{InputName}\"");
            }

            if (!string.Equals(Datatype, InputDatatype, StringComparison.Ordinal))
            {
                throw Invalid(Datatype is null
                    ? $"input \"{InputName}\" has no \"datatype\"; expected {InputDatatype}"
                    : $"input \"{InputName}\" has datatype '{Datatype}'; expected {InputDatatype} (float32 pixels in [0, 1])");
            }

            if (Shape is null)
            {
                throw Invalid($"input \"{InputName}\" has no \"shape\"; expected [N,{Channels},{Height},{Width}]");
            }

            if (Shape.Count != 4 || Shape[0] < 0 || Shape[1] != Channels || Shape[2] != Height || Shape[3] != Width)
            {
                throw Invalid($"input \"{InputName}\" has shape [{string.Join(',', Shape)}]; expected [N,{Channels},{Height},{Width}] (N images of 1×28×28)");
            }

            var batch = Shape[0];
            if (batch == 0)
            {
                throw Invalid($"input \"{InputName}\" has batch size N = 0; send at least one image");
            }

            if (batch > maxBatchSize)
            {
                throw Invalid($"input \"{InputName}\" has batch size N = {batch}, above this gateway's maximum of {maxBatchSize}; split the request");
            }

            if (!_hasData)
            {
                throw Invalid($"input \"{InputName}\" has no \"data\"");
            }

            var expected = batch * ImageLength;
            if (_count != expected)
            {
                throw Invalid($"input \"{InputName}\" has {_count} values in \"data\" but shape [{string.Join(',', Shape)}] needs {expected}");
            }

            if (_firstBadIndex >= 0)
            {
                throw Invalid($"input \"{InputName}\" data[{_firstBadIndex}] is {_firstBadValue}; pixels must be finite numbers in [0, 1]");
            }

            return [.. _images];
        }

        private void Add(float value, ref Utf8JsonReader reader)
        {
            // NaN fails both comparisons, so this one test catches NaN, ±∞ and out-of-range pixels.
            if (_firstBadIndex < 0 && !(value >= 0f && value <= 1f))
            {
                _firstBadIndex = _count;
                _firstBadValue = float.IsFinite(value)
                    ? value.ToString("R", CultureInfo.InvariantCulture)
                    : reader.TokenType == JsonTokenType.String ? reader.GetString() : "outside the FP32 range";
            }

            // Past the largest allowed batch only count, so an oversized body cannot make us allocate.
            if (_count < _capacity)
            {
                var offset = (int)(_count % ImageLength);
                if (offset == 0)
                {
                    _current = new float[ImageLength];
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
