using System.Diagnostics;
using System.Text.Json;
using AsymCdc.Inference;

namespace AsymCdc.Training.Tests;

/// <summary>
/// The whole <c>train-decoders</c> path for a few steps on a tiny subset of the digits: targets from ONNX Runtime, PyTorch
/// training and export (Debian's python3-torch), the ONNX Runtime checks, installation, evaluation and the model card.
/// </summary>
public sealed class SmokeTrainingTests
{
    [Fact]
    public async Task A_smoke_run_installs_decoders_that_onnx_runtime_loads_with_the_declared_shapes()
    {
        using var repository = TempRepository.With("digits-mlp");
        var lines = new List<string>();
        var options = new DecoderTrainingOptions
        {
            Model = "digits-mlp",
            Data = TrainingData.DigitsName,
            Repository = repository.Root,
            Ks = [2, 3],
            ParmKs = [2],
            Limit = 60,
            Groups = 256,
            Epochs = 1,
            MaxSteps = 2,
        };

        var result = await DecoderTrainer.RunAsync(options, line => { lock (lines) { lines.Add(line); } });

        string[] names = ["digits-mlp-compact-k2", "digits-mlp-compact-k3", "digits-mlp-parm-k2"];
        Assert.Equal(names, result.Exports.Select(e => e.Name));
        using (var models = ModelRepository.Open(new InferenceOptions { ModelRepository = repository.Root, Models = [.. names] }))
        {
            // The compact decoders take the k stacked 64-float feature vectors; ParM takes the classifier's input.
            Assert.Equal([-1L, 128], models.GetFunction("digits-mlp-compact-k2").Config.Input.Dims);
            Assert.Equal([-1L, 192], models.GetFunction("digits-mlp-compact-k3").Config.Input.Dims);
            Assert.Equal([-1L, 1, 8, 8], models.GetFunction("digits-mlp-parm-k2").Config.Input.Dims);
            foreach (var name in names)
            {
                var function = models.GetFunction(name);
                Assert.Equal([10], function.OutputLengths);
                Assert.True((await GoldenCheck.RunAsync(function)).Passed, $"{name} does not reproduce its golden.json");
                var outputs = await function.RunAsync(new float[3 * function.InputLength], 3);
                Assert.Equal(30, outputs[0].Length);
            }
        }

        using (var config = JsonDocument.Parse(File.ReadAllText(repository.PathOf("digits-mlp-compact-k2", "config.json"))))
        {
            Assert.Equal("digits-mlp", config.RootElement.GetProperty("serves").GetString());
            Assert.Equal("features", config.RootElement.GetProperty("serves_output").GetString());
            Assert.Equal(2, config.RootElement.GetProperty("k").GetInt32());
            Assert.Equal("compact-decoder", config.RootElement.GetProperty("role").GetString());
        }

        Assert.Equal(60, result.Evaluation.TestQueries);
        Assert.Contains(result.Evaluation.Results, r => r is { Decoder: "compact", K: 3 });
        Assert.Contains(result.Evaluation.Results, r => r is { Decoder: "parm", K: 2 });
        Assert.Contains(lines, l => l.Contains("training digits-mlp-compact-k2", StringComparison.Ordinal));

        var card = File.ReadAllText(result.ModelCard!);
        Assert.Single(card.Split(ModelCard.BeginMarker("digits-mlp")).Skip(1));
        Assert.Contains("| compact | 2 |", card);
        Assert.DoesNotContain(Directory.EnumerateFiles(TempRepository.Models, "*", SearchOption.AllDirectories),
            f => File.GetLastWriteTimeUtc(f) > Process.GetCurrentProcess().StartTime.ToUniversalTime() && !f.Contains("__pycache__", StringComparison.Ordinal));
    }

    [Fact]
    public void A_second_entry_for_a_model_replaces_the_first()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("asymcdc-card-").FullName, ModelCard.FileName);
        try
        {
            File.WriteAllText(path, "# Model card\n\nintro\n");
            ModelCard.Upsert(path, "m", $"{ModelCard.BeginMarker("m")}\nfirst\n{ModelCard.EndMarker("m")}\n");
            ModelCard.Upsert(path, "other", $"{ModelCard.BeginMarker("other")}\nmine\n{ModelCard.EndMarker("other")}\n");
            ModelCard.Upsert(path, "m", $"{ModelCard.BeginMarker("m")}\nsecond\n{ModelCard.EndMarker("m")}\n");

            var text = File.ReadAllText(path);

            Assert.DoesNotContain("first", text);
            Assert.Contains("second", text);
            Assert.Contains("mine", text);
            Assert.True(text.IndexOf("second", StringComparison.Ordinal) < text.IndexOf("mine", StringComparison.Ordinal), "the entry stays where it was");
            Assert.StartsWith("# Model card\n\nintro\n", text);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
