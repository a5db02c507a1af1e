using System.Diagnostics;

namespace AsymCdc.Inference.Tests;

/// <summary>
/// Runs <c>models/train.sh --smoke</c>: the whole training pipeline (every model family, ONNX export,
/// configs, golden files) for a few steps into a temporary folder, so the pipeline cannot rot.
/// </summary>
public sealed class TrainingPipelineSmokeTests
{
    [Fact]
    public async Task Train_sh_smoke_exports_every_model()
    {
        var models = ModelRepositoryLocator.Find();
        var script = Path.Combine(models, "train.sh");
        Assert.True(File.Exists(script), $"missing {script}");
        var before = Directory.GetFiles(models, "*", SearchOption.AllDirectories)
            .ToDictionary(f => f, File.GetLastWriteTimeUtc);

        var start = new ProcessStartInfo("bash", [script, "--smoke"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            WorkingDirectory = models,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await process.WaitForExitAsync(timeout.Token);
        var output = await stdout + await stderr;

        Assert.True(process.ExitCode == 0, $"train.sh --smoke exited with {process.ExitCode}:\n{output}");
        Assert.Contains("smoke: all 7 models exported", output);
        Assert.Contains("fmnist-inn test accuracy", output);

        // The smoke run writes into a temporary folder only: no committed artifact changed.
        foreach (var (file, written) in before)
        {
            if (file.Contains("__pycache__", StringComparison.Ordinal))
            {
                continue;
            }

            Assert.Equal(written, File.GetLastWriteTimeUtc(file));
        }
    }
}
