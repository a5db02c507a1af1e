using Spectre.Console;
using Spectre.Console.Cli;

namespace AsymCdc.Cli.Tests;

/// <summary><c>asymcdc predict --model</c>: one test item of any served model, or a clear refusal of an unknown one.</summary>
[Collection(ServeCollection.Name)]
public sealed class PredictCommandTests
{
    [Fact]
    public async Task Predict_sends_a_user_models_own_test_item()
    {
        var (exit, printed) = await RunAsync("predict", "--model", "digits-mlp", "--image", "3", "--workers", "3", "--mode", "none");

        Assert.Equal(0, exit);
        // The third test digit is a 7, and the model gets it right (its own answer, mode none).
        Assert.Contains("digits-mlp item 3: true class 7 (7), predicted class 7 (7) correct", printed, StringComparison.Ordinal);
        Assert.Contains("mode none, served by direct", printed, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Predict_refuses_an_unknown_model_naming_the_served_ones()
    {
        var (exit, printed) = await RunAsync("predict", "--model", "bert");

        Assert.Equal(2, exit);
        Assert.Contains("the repository serves no such model; it serves digits-mlp, fmnist-cnn, fmnist", printed.ReplaceLineEndings(" "), StringComparison.Ordinal);
    }

    private static async Task<(int Exit, string Printed)> RunAsync(params string[] args)
    {
        if (Environment.GetEnvironmentVariable("ASYMCDC_MODELS") is { Length: > 0 } models)
        {
            args = [.. args, "--models", models];
        }

        // predict prints through the static console; the collection runs alone, so borrowing it is safe.
        var printed = new StringWriter();
        var console = AnsiConsole.Console;
        AnsiConsole.Console = AnsiConsole.Create(new AnsiConsoleSettings { Out = new AnsiConsoleOutput(printed), Interactive = InteractionSupport.No, Ansi = AnsiSupport.No, ColorSystem = ColorSystemSupport.NoColors });
        AnsiConsole.Profile.Width = 200;
        try
        {
            var app = new CommandApp();
            app.Configure(config =>
            {
                AsymCdcCommandLine.Configure(config);
                config.PropagateExceptions();
            });
            return (await app.RunAsync(args), printed.ToString());
        }
        finally
        {
            AnsiConsole.Console = console;
        }
    }
}
