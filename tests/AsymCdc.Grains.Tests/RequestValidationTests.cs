using AsymCdc.Abstractions;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;

namespace AsymCdc.Grains.Tests;

public sealed class RequestValidationTests
{
    private static float[] Image() => new float[PredictionRequest.InputLength];

    [Fact]
    public void A_valid_image_passes() => RequestValidator.Validate(new PredictionRequest(Image()));

    [Theory]
    [InlineData(float.NaN, "input[3] is NaN")]
    [InlineData(float.PositiveInfinity, "input[3] is Infinity")]
    [InlineData(1.5f, "input[3] = 1.5 is outside [0, 1]")]
    [InlineData(-0.25f, "input[3] = -0.25 is outside [0, 1]")]
    public void A_bad_pixel_is_named(float value, string expected)
    {
        var input = Image();
        input[3] = value;

        var e = Assert.Throws<PredictionException>(() => RequestValidator.Validate(new PredictionRequest(input)));

        Assert.Equal(PredictionErrorCode.InvalidInput, e.Code);
        Assert.Contains(expected, e.Message);
    }

    [Property]
    public Property Any_other_length_is_refused_naming_784(NonNegativeInt length)
    {
        var n = length.Get == PredictionRequest.InputLength ? 0 : length.Get % 5000;
        var e = Assert.Throws<PredictionException>(() => RequestValidator.Validate(new PredictionRequest(new float[n])));
        return (e.Code == PredictionErrorCode.InvalidInput && e.Message.Contains("784", StringComparison.Ordinal)).ToProperty();
    }

    [Fact]
    public void A_missing_input_is_refused() =>
        Assert.Equal(PredictionErrorCode.InvalidInput,
            Assert.Throws<PredictionException>(() => RequestValidator.Validate(new PredictionRequest(null!))).Code);

    [Fact]
    public void An_unknown_model_is_named()
    {
        var e = Assert.Throws<PredictionException>(() => RequestValidator.Validate(new PredictionRequest(Image(), "bert")));

        Assert.Equal(PredictionErrorCode.UnknownModel, e.Code);
        Assert.Contains("'bert'", e.Message);
    }

    [Fact]
    public void An_undefined_mode_is_refused()
    {
        var e = Assert.Throws<PredictionException>(() => RequestValidator.Validate(new PredictionRequest(Image(), Mode: (ServingMode)42)));

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
            Assert.Throws<PredictionException>(() => RequestValidator.Validate(new PredictionRequest(Image(), Timeout: TimeSpan.Zero))).Code);
}
