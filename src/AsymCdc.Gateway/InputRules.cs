using System.Buffers;
using System.Buffers.Binary;
using System.Globalization;
using System.Runtime.InteropServices;

namespace AsymCdc.Gateway;

/// <summary>
/// The checks every protocol runs on an input tensor against its <see cref="ServedModel"/>, in one order (name,
/// datatype, shape, batch size, value count, values) and with one wording, so HTTP JSON, HTTP binary and gRPC tell a
/// caller about the same problem the same way. Every failure is an <see cref="InferRequestException"/>.
/// </summary>
internal static class InputRules
{
    public static InferRequestException NoInputs(ServedModel model) =>
        new($"request has no \"inputs\"; send one input named \"{model.Input.Name}\" with datatype {ServedInput.Datatype} and shape {model.Input.ExpectedShape}");

    public static InferRequestException TooManyInputs(ServedModel model, int count) =>
        new($"request has {count} inputs; the model takes exactly one, named \"{model.Input.Name}\"");

    /// <summary>Checks the input's name, datatype and shape and returns its batch size N (1..<paramref name="maxBatchSize"/>).</summary>
    public static int CheckSignature(ServedModel model, string? name, string? datatype, IReadOnlyList<long>? shape, int maxBatchSize)
    {
        var input = model.Input;
        if (!string.Equals(name, input.Name, StringComparison.Ordinal))
        {
            throw new InferRequestException(name is null
                ? $"inputs[0] has no \"name\"; the model's input is named \"{input.Name}\""
                : $"unknown input '{name}'; the model's input is named \"{input.Name}\"");
        }

        if (!string.Equals(datatype, ServedInput.Datatype, StringComparison.Ordinal))
        {
            throw new InferRequestException(datatype is null
                ? $"input \"{input.Name}\" has no \"datatype\"; expected {ServedInput.Datatype}"
                : $"input \"{input.Name}\" has datatype '{datatype}'; expected {ServedInput.Datatype} (float32 {input.ValueNoun} in {input.Range})");
        }

        if (shape is null)
        {
            throw new InferRequestException($"input \"{input.Name}\" has no \"shape\"; expected {input.ExpectedShape}");
        }

        if (!Matches(input, shape))
        {
            var items = $"{model.ItemNoun}s of {string.Join('×', input.ItemShape)}";
            throw new InferRequestException($"input \"{input.Name}\" has shape {ShapeText(shape)}; expected {input.ExpectedShape} (N {items})");
        }

        var batch = shape[0];
        if (batch == 0)
        {
            throw new InferRequestException($"input \"{input.Name}\" has batch size N = 0; send at least one {model.ItemNoun}");
        }

        if (batch > maxBatchSize)
        {
            throw new InferRequestException($"input \"{input.Name}\" has batch size N = {batch}, above this gateway's maximum of {maxBatchSize}; split the request");
        }

        return (int)batch;
    }

    public static string ShapeText(IReadOnlyList<long> shape) => $"[{string.Join(',', shape)}]";

    public static InferRequestException BadValue(ServedInput input, string field, long index, string value) =>
        new($"input \"{input.Name}\" {field}[{index}] is {value}; {input.ValueNoun} must be finite numbers in {input.Range}");

    /// <summary>The index of the first value that is NaN, infinite or outside the input's range, or -1.</summary>
    public static int FirstInvalid(ServedInput input, ReadOnlySpan<float> values)
    {
        var (min, max) = (input.Min, input.Max);
        for (var i = 0; i < values.Length; i++)
        {
            // NaN fails both comparisons, so this one test catches NaN, ±∞ and out-of-range values.
            if (!(values[i] >= min && values[i] <= max))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Checks <paramref name="values"/> (N rows, row-major) and copies them into one array per row.</summary>
    public static float[][] Rows(ServedInput input, ReadOnlySpan<float> values, int batch, string field)
    {
        if (FirstInvalid(input, values) is var bad and >= 0)
        {
            throw BadValue(input, field, bad, Format(values[bad]));
        }

        var length = input.ItemLength;
        var rows = new float[batch][];
        for (var i = 0; i < batch; i++)
        {
            rows[i] = values.Slice(i * length, length).ToArray();
        }

        return rows;
    }

    /// <summary>Reads N rows of little-endian float32 (the binary and raw encodings) straight into one array per row,
    /// then checks them. <paramref name="bytes"/> holds exactly N × ItemLength × 4 bytes.</summary>
    public static float[][] RowsFromLittleEndian(ServedInput input, ReadOnlySequence<byte> bytes, int batch, string field)
    {
        var length = input.ItemLength;
        var rowBytes = length * sizeof(float);
        var rows = new float[batch][];
        for (var i = 0; i < batch; i++)
        {
            var row = new float[length];
            bytes.Slice((long)i * rowBytes, rowBytes).CopyTo(MemoryMarshal.AsBytes(row.AsSpan()));
            if (!BitConverter.IsLittleEndian)
            {
                var bits = MemoryMarshal.Cast<float, int>(row.AsSpan());
                BinaryPrimitives.ReverseEndianness(bits, bits);
            }

            if (FirstInvalid(input, row) is var bad and >= 0)
            {
                throw BadValue(input, field, ((long)i * length) + bad, Format(row[bad]));
            }

            rows[i] = row;
        }

        return rows;
    }

    public static string Format(float value) => value.ToString("R", CultureInfo.InvariantCulture);

    private static bool Matches(ServedInput input, IReadOnlyList<long> shape)
    {
        if (shape.Count != input.ItemShape.Count + 1 || shape[0] < 0)
        {
            return false;
        }

        for (var i = 0; i < input.ItemShape.Count; i++)
        {
            if (shape[i + 1] != input.ItemShape[i])
            {
                return false;
            }
        }

        return true;
    }
}
