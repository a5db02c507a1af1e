using System.Buffers;
using System.Globalization;
using System.Text;
using AsymCdc.Abstractions;

namespace AsymCdc.Gateway.Tests;

/// <summary>The request parser is pure: bytes in, a validated request or a message naming the problem out.</summary>
public sealed class InferRequestParserTests
{
    private const int MaxBatch = 4;

    [Fact]
    public void Parses_a_flat_batch_into_one_pixel_array_per_image_in_order()
    {
        var pixels = Pixels(2);
        var request = Parse(Body(shape: "[2,1,28,28]", data: Flat(pixels)));

        Assert.Equal(2, request.Images.Length);
        Assert.Equal(pixels.AsSpan(0, 784).ToArray(), request.Images[0]);
        Assert.Equal(pixels.AsSpan(784, 784).ToArray(), request.Images[1]);
        Assert.Null(request.Id);
        Assert.Null(request.Mode);
        Assert.Null(request.Timeout);
        Assert.Equal(InferOutputs.All, request.Outputs);
    }

    [Fact]
    public void Nested_row_major_data_reads_the_same_as_flat_data()
    {
        var pixels = Pixels(2);
        var flat = Parse(Body(shape: "[2,1,28,28]", data: Flat(pixels)));
        var nested = Parse(Body(shape: "[2,1,28,28]", data: Nested(pixels, 2)));

        Assert.Equal(flat.Images, nested.Images);
    }

    [Fact]
    public void Members_may_come_in_any_order_and_unknown_ones_are_ignored()
    {
        var pixels = Pixels(1);
        var json = $$"""
            {"parameters":{"mode":"ASYMCDC-EXACT","timeout_ms":250,"other":{"x":[1,2]} },"extension":[{}],
             "outputs":[{"name":"label"}],
             "inputs":[{"data":{{Flat(pixels)}},"parameters":{"binary_data_size":0},"shape":[1,1,28,28],"datatype":"FP32","name":"input"}],
             "id":"req-7"}
            """;
        var request = Parse(json);

        Assert.Equal("req-7", request.Id);
        Assert.Equal(ServingMode.AsymCdcExact, request.Mode);
        Assert.Equal(TimeSpan.FromMilliseconds(250), request.Timeout);
        Assert.Equal(InferOutputs.Label, request.Outputs);
        Assert.Equal(pixels, request.Images[0]);
    }

    [Fact]
    public void Every_serving_mode_name_is_accepted()
    {
        foreach (var mode in ServingModes.All)
        {
            var request = Parse(Body(data: Flat(Pixels(1)), parameters: $$"""{"mode":"{{mode.ToName()}}"}"""));
            Assert.Equal(mode, request.Mode);
        }
    }

    [Fact]
    public void Pixels_at_the_bounds_zero_and_one_are_valid()
    {
        var pixels = new float[784];
        pixels[1] = 1f;
        var request = Parse(Body(data: Flat(pixels)));
        Assert.Equal(1f, request.Images[0][1]);
    }

    [Theory]
    [InlineData("", "request body is empty")]
    [InlineData("not json", "not valid JSON")]
    [InlineData("{\"inputs\":[", "not valid JSON")]
    [InlineData("{} {}", "not valid JSON")]
    [InlineData("[1,2]", "must be a JSON object")]
    [InlineData("{}", "no \"inputs\"")]
    [InlineData("{\"inputs\":[]}", "no \"inputs\"")]
    [InlineData("{\"inputs\":{}}", "\"inputs\" must be an array")]
    [InlineData("{\"inputs\":[1]}", "inputs[0] must be an object")]
    [InlineData("{\"id\":7,\"inputs\":[]}", "\"id\" must be a string")]
    public void Malformed_bodies_are_rejected_naming_the_problem(string body, string expected) =>
        AssertRejected(body, expected);

    [Fact]
    public void Two_inputs_are_rejected() =>
        AssertRejected($$"""{"inputs":[{{Input(data: Flat(Pixels(1)))}},{{Input(data: Flat(Pixels(1)))}}]}""", "request has 2 inputs");

    [Fact]
    public void A_wrong_input_name_is_rejected() =>
        AssertRejected(Body(name: "image", data: Flat(Pixels(1))), "unknown input 'image'; the model's input is named \"input\"");

    [Fact]
    public void A_missing_input_name_is_rejected() =>
        AssertRejected("""{"inputs":[{"datatype":"FP32","shape":[1,1,28,28],"data":[]}]}""", "inputs[0] has no \"name\"");

    [Theory]
    [InlineData("FP64")]
    [InlineData("UINT8")]
    [InlineData("fp32")]
    public void A_datatype_other_than_FP32_is_rejected(string datatype) =>
        AssertRejected(Body(datatype: datatype, data: Flat(Pixels(1))), $"datatype '{datatype}'; expected FP32");

    [Fact]
    public void The_datatype_is_reported_before_bad_values_even_when_data_comes_first() =>
        AssertRejected(
            """{"inputs":[{"data":[7,8,9],"name":"input","shape":[1,1,28,28],"datatype":"INT64"}]}""",
            "datatype 'INT64'; expected FP32");

    [Theory]
    [InlineData("[1,784]")]
    [InlineData("[1,28,28]")]
    [InlineData("[1,3,28,28]")]
    [InlineData("[1,1,32,32]")]
    [InlineData("[-1,1,28,28]")]
    [InlineData("[1,1,28,28,1]")]
    public void A_shape_other_than_N_1_28_28_is_rejected(string shape) =>
        AssertRejected(Body(shape: shape, data: Flat(Pixels(1))), $"has shape {shape}; expected [N,1,28,28]");

    [Theory]
    [InlineData("\"[1,1,28,28]\"")]
    [InlineData("[1.5,1,28,28]")]
    public void A_shape_that_is_not_integers_is_rejected(string shape) =>
        AssertRejected(Body(shape: shape, data: Flat(Pixels(1))), "shape must be an array of integers");

    [Fact]
    public void A_missing_shape_is_rejected() =>
        AssertRejected("""{"inputs":[{"name":"input","datatype":"FP32","data":[0]}]}""", "has no \"shape\"");

    [Fact]
    public void Missing_data_is_rejected() =>
        AssertRejected("""{"inputs":[{"name":"input","datatype":"FP32","shape":[1,1,28,28]}]}""", "has no \"data\"");

    [Fact]
    public void A_batch_of_zero_is_rejected() =>
        AssertRejected(Body(shape: "[0,1,28,28]", data: "[]"), "batch size N = 0; send at least one image");

    [Fact]
    public void A_batch_above_the_maximum_is_rejected_naming_the_maximum() =>
        AssertRejected(Body(shape: $"[{MaxBatch + 1},1,28,28]", data: Flat(Pixels(MaxBatch + 1))), $"batch size N = {MaxBatch + 1}, above this gateway's maximum of {MaxBatch}");

    [Theory]
    [InlineData(783)]
    [InlineData(785)]
    [InlineData(2 * 784)]
    public void A_data_length_that_does_not_match_the_shape_is_rejected(int length) =>
        AssertRejected(Body(data: Flat(new float[length])), $"has {length} values in \"data\" but shape [1,1,28,28] needs 784");

    [Fact]
    public void Data_far_beyond_the_maximum_batch_is_counted_but_not_stored()
    {
        // (MaxBatch + 3) images' worth under a shape of one: the count in the message proves every value
        // was seen, and the parser never allocates past MaxBatch images.
        var length = (MaxBatch + 3) * 784;
        AssertRejected(Body(data: Flat(new float[length])), $"has {length} values");
    }

    [Theory]
    [InlineData("1.5", "data[3] is 1.5")]
    [InlineData("-0.25", "data[3] is -0.25")]
    [InlineData("1e39", "data[3] is outside the FP32 range")]
    [InlineData("-1e39", "data[3] is outside the FP32 range")]
    [InlineData("\"NaN\"", "data[3] is NaN")]
    [InlineData("\"Infinity\"", "data[3] is Infinity")]
    public void Non_finite_or_out_of_range_pixels_are_rejected_naming_the_first(string value, string expected)
    {
        var data = Flat(Pixels(1)).Split(',');
        data[3] = value;
        data[10] = "2";
        AssertRejected(Body(data: string.Join(',', data)), expected + "; pixels must be finite numbers in [0, 1]");
    }

    [Fact]
    public void A_bare_NaN_literal_is_not_JSON() =>
        AssertRejected(Body(data: Flat(Pixels(1)).Replace("[0", "[NaN", StringComparison.Ordinal)), "not valid JSON");

    [Theory]
    [InlineData("\"abc\"", "data[0] is a string")]
    [InlineData("true", "data[0] is a boolean")]
    [InlineData("null", "data[0] is null")]
    [InlineData("{}", "data[0] is an object")]
    public void Data_that_is_not_numbers_is_rejected(string value, string expected) =>
        AssertRejected(Body(data: $"[{value}]"), expected);

    [Fact]
    public void Data_that_is_not_an_array_is_rejected() =>
        AssertRejected(Body(data: "0.5"), "data must be an array");

    [Theory]
    [InlineData("{\"mode\":\"turbo\"}", "unknown serving mode 'turbo' in parameters.mode; expected one of: none, hedged, replication, parm, approxifer, asymcdc-exact, asymcdc-compact")]
    [InlineData("{\"mode\":3}", "parameters.mode must be a string")]
    [InlineData("{\"timeout_ms\":0}", "parameters.timeout_ms must be a positive number")]
    [InlineData("{\"timeout_ms\":\"5\"}", "parameters.timeout_ms must be a positive number")]
    [InlineData("[]", "\"parameters\" must be an object")]
    public void Bad_parameters_are_rejected(string parameters, string expected) =>
        AssertRejected(Body(data: Flat(Pixels(1)), parameters: parameters), expected);

    [Theory]
    [InlineData("[{\"name\":\"features\"}]", "unknown output 'features' in outputs[0]")]
    [InlineData("[{}]", "outputs[0] has no \"name\"")]
    [InlineData("{}", "\"outputs\" must be an array")]
    public void Bad_requested_outputs_are_rejected(string outputs, string expected) =>
        AssertRejected($$"""{"outputs":{{outputs}},"inputs":[{{Input(data: Flat(Pixels(1)))}}]}""", expected);

    [Fact]
    public void The_maximum_batch_must_be_positive() =>
        Assert.Throws<ArgumentOutOfRangeException>(() => InferRequestParser.Parse(Encoding.UTF8.GetBytes(Body(data: Flat(Pixels(1)))), 0));

    internal static float[] Pixels(int images)
    {
        // Distinct, exactly representable values so that any misplaced pixel fails the comparison.
        var pixels = new float[images * 784];
        for (var i = 0; i < pixels.Length; i++)
        {
            pixels[i] = (i % 1024) / 1024f;
        }

        return pixels;
    }

    internal static string Flat(ReadOnlySpan<float> pixels)
    {
        var builder = new StringBuilder(pixels.Length * 8).Append('[');
        for (var i = 0; i < pixels.Length; i++)
        {
            builder.Append(i == 0 ? "" : ",").Append(pixels[i].ToString("R", CultureInfo.InvariantCulture));
        }

        return builder.Append(']').ToString();
    }

    /// <summary>[N][1][28][28] nested arrays, as numpy's tolist() sends them.</summary>
    internal static string Nested(float[] pixels, int images)
    {
        var builder = new StringBuilder().Append('[');
        for (var n = 0; n < images; n++)
        {
            builder.Append(n == 0 ? "[[" : ",[[");
            for (var row = 0; row < 28; row++)
            {
                builder.Append(row == 0 ? "" : ",").Append(Flat(pixels.AsSpan((n * 784) + (row * 28), 28)));
            }

            builder.Append("]]");
        }

        return builder.Append(']').ToString();
    }

    internal static string Input(string name = "input", string datatype = "FP32", string shape = "[1,1,28,28]", string data = "[]") =>
        $$"""{"name":"{{name}}","datatype":"{{datatype}}","shape":{{shape}},"data":{{data}}}""";

    internal static string Body(string name = "input", string datatype = "FP32", string shape = "[1,1,28,28]", string data = "[]", string? parameters = null) =>
        parameters is null
            ? $$"""{"inputs":[{{Input(name, datatype, shape, data)}}]}"""
            : $$"""{"inputs":[{{Input(name, datatype, shape, data)}}],"parameters":{{parameters}}}""";

    private static InferRequest Parse(string json) => InferRequestParser.Parse(Encoding.UTF8.GetBytes(json), MaxBatch);

    private static void AssertRejected(string json, string expected)
    {
        var error = Assert.Throws<InferRequestException>(() => Parse(json));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}

/// <summary>Kestrel hands a large body over as several buffers; parsing must not depend on where they split.</summary>
public sealed class InferRequestParserSegmentTests
{
    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(4096)]
    public void A_body_split_across_segments_parses_like_one_buffer(int segmentLength)
    {
        var bytes = Encoding.UTF8.GetBytes(InferRequestParserTests.Body(
            shape: "[2,1,28,28]", data: InferRequestParserTests.Nested(InferRequestParserTests.Pixels(2), 2), parameters: """{"mode":"parm"}"""));

        var whole = InferRequestParser.Parse(bytes, 4);
        var split = InferRequestParser.Parse(Segments(bytes, segmentLength), 4);

        Assert.Equal(whole.Images, split.Images);
        Assert.Equal(ServingMode.Parm, split.Mode);
    }

    private static ReadOnlySequence<byte> Segments(byte[] bytes, int length)
    {
        var first = new Segment(bytes.AsMemory(0, Math.Min(length, bytes.Length)), 0);
        var last = first;
        for (var offset = length; offset < bytes.Length; offset += length)
        {
            last = last.Append(bytes.AsMemory(offset, Math.Min(length, bytes.Length - offset)));
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
