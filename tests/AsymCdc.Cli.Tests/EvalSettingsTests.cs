namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc eval</c> refuses bad options, naming them.</summary>
public sealed class EvalSettingsTests
{
    [Theory]
    [InlineData("-k", "5", "not a group size in 2..4")]
    [InlineData("-k", "two", "'two'")]
    [InlineData("--decoders", "exact,magic", "'magic' is unknown")]
    public void Settings_reject_bad_input_naming_it(string option, string value, string expected)
    {
        var settings = option == "-k" ? new EvalCommand.Settings { K = value } : new EvalCommand.Settings { Decoders = value };

        var result = settings.Validate();

        Assert.False(result.Successful);
        Assert.Contains(expected, result.Message);
    }
}
