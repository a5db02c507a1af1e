using AsymCdc.Inference;
using AsymCdc.Inference.Data;

namespace AsymCdc.Grains.Tests;

/// <summary>The model repository and test set the cluster tests load: <c>models/</c> of this repository, or the folder
/// named by <c>ASYMCDC_MODELS</c> (e.g. a smoke repository from <c>training.main --smoke</c>).</summary>
public static class TestModels
{
    public static string Directory => Environment.GetEnvironmentVariable("ASYMCDC_MODELS") is { Length: > 0 } dir ? dir : ModelRepositoryLocator.Find();

    public static async Task<ModelRepository> OpenAsync()
    {
        var models = ModelRepository.Open(new InferenceOptions { ModelRepository = Directory });
        await models.WarmUpAsync();
        return models;
    }

    private static readonly Lazy<FashionMnistSet> s_data = new(() => FashionMnist.LoadTestSet());

    public static FashionMnistSet Data => s_data.Value;
}
