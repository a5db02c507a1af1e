using System.Diagnostics;

namespace AsymCdc.Training.Tests;

/// <summary>
/// Runs <c>models/train-user-models.sh --smoke</c>: both stand-in user models and the digits split, a few steps each,
/// into a temporary folder, so the script that made the committed models cannot rot.
/// </summary>
public sealed class UserModelsScriptSmokeTests
{
    [Fact]
    public async Task Train_user_models_smoke_exports_both_models_and_the_digits_split()
    {
        var script = Path.Combine(TempRepository.Models, "train-user-models.sh");
        Assert.True(File.Exists(script), $"missing {script}");
        var start = new ProcessStartInfo("bash", [script, "--smoke"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = TempRepository.Models,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, $"train-user-models.sh --smoke exited with {process.ExitCode}:\n{output}");
        Assert.Contains("smoke: 2 user models and the digits split exported", output);
        Assert.Contains("fmnist-cnn test accuracy", output);
        Assert.Contains("digits-mlp test accuracy", output);
    }
}
