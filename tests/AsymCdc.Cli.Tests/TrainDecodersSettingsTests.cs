namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc train-decoders</c> refuses bad options before it opens anything, naming them.</summary>
public sealed class TrainDecodersSettingsTests
{
    [Fact]
    public void A_model_and_data_are_required()
    {
        var result = new TrainDecodersCommand.Settings().Validate();

        Assert.False(result.Successful);
        Assert.Contains("--model is required", result.Message);
        Assert.Contains("--data is required", result.Message);
    }

    [Theory]
    [InlineData("-k", "1", "'1' is not a group size in 2..8")]
    [InlineData("--logits-only", "", "contradict")]
    [InlineData("--parm-k", "2", "--parm-k needs --parm")]
    [InlineData("--epochs", "0", "--epochs 0")]
    public void Settings_reject_bad_input_naming_it(string option, string value, string expected)
    {
        var settings = option switch
        {
            "-k" => new TrainDecodersCommand.Settings { Model = "m", Data = "digits", K = value },
            "--logits-only" => new TrainDecodersCommand.Settings { Model = "m", Data = "digits", LogitsOnly = true, FeatureOutput = "features" },
            "--parm-k" => new TrainDecodersCommand.Settings { Model = "m", Data = "digits", ParmK = value },
            _ => new TrainDecodersCommand.Settings { Model = "m", Data = "digits", Epochs = int.Parse(value, System.Globalization.CultureInfo.InvariantCulture) },
        };

        var result = settings.Validate();

        Assert.False(result.Successful);
        Assert.Contains(expected, result.Message);
    }

    [Fact]
    public void Parm_trains_the_k_of_parm_k_or_else_those_of_k()
    {
        Assert.Equal([2], new TrainDecodersCommand.Settings { Model = "m", Data = "digits", K = "2,3", Parm = true, ParmK = "2" }.ToOptions().ParmKs);
        Assert.Equal([2, 3], new TrainDecodersCommand.Settings { Model = "m", Data = "digits", K = "2,3", Parm = true }.ToOptions().ParmKs);
        Assert.Empty(new TrainDecodersCommand.Settings { Model = "m", Data = "digits", K = "2,3" }.ToOptions().ParmKs);
    }
}
