using AsymCdc.Abstractions;
using AsymCdc.Coding;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AsymCdc.Grains.Tests;

public sealed class RequestValidationTests
{
    private static float[] Image() => new float[PredictionRequest.InputLength];

    private static readonly CodedModel s_fmnist = new()
    {
        Name = "fmnist-inn", Aliases = ["fmnist"], InputName = "input", InputShape = [1, 28, 28], InputRange = (0f, 1f),
        Outputs = ["logits", "features"], OutputLengths = [10, 784],
    };

    /// <summary>A user's model of another shape and no declared range.</summary>
    private static readonly CodedModel s_other = new()
    {
        Name = "tabular", InputName = "x", InputShape = [2, 3], Outputs = ["logits"], OutputLengths = [4],
    };

    private static readonly CodedModel[] s_served = [s_fmnist, s_other];

    private static CodedModel Validate(PredictionRequest request) => RequestValidator.Validate(request, s_served);

    [Fact]
    public void A_request_finds_its_model_by_name_or_alias()
    {
        Assert.Same(s_fmnist, Validate(new PredictionRequest(Image(), "fmnist-inn")));
        Assert.Same(s_fmnist, Validate(new PredictionRequest(Image())));
        Assert.Same(s_other, Validate(new PredictionRequest(new Tensor([1, 2, 3, 4, 5, -600f], [2, 3]), "tabular")));
        Assert.Same(s_other, Validate(new PredictionRequest(Tensor.Flat([1, 2, 3, 4, 5, 6]), "tabular")));
    }

    [Theory]
    [InlineData(new[] { 3, 2 }, "the input's shape is [3,2]; model 'tabular' takes [2,3] (or a flat [6])")]
    [InlineData(new[] { 1, 6 }, "the input's shape is [1,6]")]
    public void A_wrong_shape_of_the_right_length_is_named(int[] shape, string expected)
    {
        var e = Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(new Tensor(new float[6], shape), "tabular")));

        Assert.Equal(PredictionErrorCode.InvalidInput, e.Code);
        Assert.Contains(expected, e.Message);
    }

    [Fact]
    public void A_model_without_a_range_still_refuses_non_finite_values()
    {
        var e = Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(new Tensor([0, 0, float.NaN, 0, 0, 0], [2, 3]), "tabular")));

        Assert.Contains("input[2] is NaN", e.Message);
    }

    [Fact]
    public void A_valid_image_passes() => Assert.Same(s_fmnist, Validate(new PredictionRequest(Image())));

    [Theory]
    [InlineData(float.NaN, "input[3] is NaN")]
    [InlineData(float.PositiveInfinity, "input[3] is Infinity")]
    [InlineData(1.5f, "input[3] = 1.5 is outside [0, 1]")]
    [InlineData(-0.25f, "input[3] = -0.25 is outside [0, 1]")]
    public void A_bad_pixel_is_named(float value, string expected)
    {
        var input = Image();
        input[3] = value;

        var e = Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(input)));

        Assert.Equal(PredictionErrorCode.InvalidInput, e.Code);
        Assert.Contains(expected, e.Message);
    }

    [Property]
    public Property Any_other_length_is_refused_naming_784(NonNegativeInt length)
    {
        var n = length.Get == PredictionRequest.InputLength ? 0 : length.Get % 5000;
        var e = Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(new float[n])));
        return (e.Code == PredictionErrorCode.InvalidInput && e.Message.Contains("784", StringComparison.Ordinal)).ToProperty();
    }

    [Fact]
    public void A_missing_input_is_refused() =>
        Assert.Equal(PredictionErrorCode.InvalidInput,
            Assert.Throws<PredictionException>(() => Validate(new PredictionRequest((Tensor)null!))).Code);

    [Fact]
    public void An_unknown_model_is_named()
    {
        var e = Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(Image(), "bert")));

        Assert.Equal(PredictionErrorCode.UnknownModel, e.Code);
        Assert.Contains("'bert'", e.Message);
    }

    [Fact]
    public void An_undefined_mode_is_refused()
    {
        var e = Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(Image(), Mode: (ServingMode)42)));

        Assert.Equal(PredictionErrorCode.UnknownMode, e.Code);
        Assert.Contains("asymcdc-compact", e.Message);
    }

    [Fact]
    public void An_unknown_mode_name_lists_the_modes()
    {
        var e = Assert.Throws<PredictionException>(() => ServingModes.Parse("fast"));

        Assert.Equal(PredictionErrorCode.UnknownMode, e.Code);
        Assert.Contains("asymcdc-exact", e.Message);
    }

    [Fact]
    public void A_non_positive_timeout_is_refused() =>
        Assert.Equal(PredictionErrorCode.InvalidInput,
            Assert.Throws<PredictionException>(() => Validate(new PredictionRequest(Image(), Timeout: TimeSpan.Zero))).Code);
}
