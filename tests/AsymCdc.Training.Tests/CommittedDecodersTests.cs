using System.Text.Json;
using AsymCdc.Inference;

namespace AsymCdc.Training.Tests;

/// <summary>The decoders <c>asymcdc train-decoders</c> wrote into the repository for the stand-in user models fit their
/// classifier: each names the model it serves, and a compact decoder takes k of the output it names.</summary>
public sealed class CommittedDecodersTests
{
    [Theory]
    [InlineData("fmnist-cnn-compact-k2", "fmnist-cnn", 2)]
    [InlineData("fmnist-cnn-compact-k3", "fmnist-cnn", 3)]
    [InlineData("fmnist-cnn-compact-k4", "fmnist-cnn", 4)]
    [InlineData("fmnist-cnn-parm-k2", "fmnist-cnn", 2)]
    [InlineData("digits-mlp-compact-k2", "digits-mlp", 2)]
    public void A_committed_decoder_fits_the_classifier_it_serves(string decoder, string classifier, int k)
    {
        var models = TempRepository.Models;
        var config = ModelConfig.Load(Path.Combine(models, decoder));
        var served = ModelConfig.Load(Path.Combine(models, classifier));
        using var json = JsonDocument.Parse(File.ReadAllText(Path.Combine(models, decoder, ModelConfig.FileName)));

        Assert.Equal(classifier, json.RootElement.GetProperty("serves").GetString());
        Assert.Equal(k, config.K);
        Assert.Equal(served.Outputs.Single(o => o.Name == "logits").ItemLength, config.Outputs[0].ItemLength);
        if (config.Role == ModelRole.CompactDecoder)
        {
            var member = json.RootElement.GetProperty("serves_output").GetString();
            Assert.Equal(k * served.Outputs.Single(o => o.Name == member).ItemLength, config.Input.ItemLength);
        }
        else
        {
            Assert.Equal(served.Input.Dims, config.Input.Dims);
        }

        Assert.True(new FileInfo(Path.Combine(models, decoder, "1", ModelRepository.ModelFileName)).Length < 5 << 20, $"{decoder} is 5 MB or more");
    }
}
