using System.Runtime.InteropServices;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace AsymCdc.Inference.Tests;

/// <summary>Every way a repository can be broken stops <see cref="ModelRepository.Open"/> with a message
/// naming the model and the problem. Each test breaks a temporary copy of a real model.</summary>
public sealed class ModelRepositoryErrorTests
{
    [Fact]
    public void A_missing_repository_folder_is_named()
    {
        var missing = Path.Combine(Path.GetTempPath(), "asymcdc-no-such-repository");

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(new InferenceOptions { ModelRepository = missing }));

        Assert.Contains($"Model repository '{missing}' does not exist", error.Message);
        Assert.Contains("AsymCdc:Inference:ModelRepository", error.Message);
    }

    [Fact]
    public void A_relative_repository_that_is_nowhere_lists_the_folders_tried()
    {
        var error = Assert.Throws<ModelRepositoryException>(
            () => ModelRepository.Open(new InferenceOptions { ModelRepository = "no-such-models-folder" }));

        Assert.Contains("Model repository 'no-such-models-folder' not found; tried", error.Message);
        Assert.Contains(Path.Combine(Directory.GetCurrentDirectory(), "no-such-models-folder"), error.Message);
    }

    [Fact]
    public void A_missing_model_is_named_with_what_the_repository_has()
    {
        using var repo = TestModels.CopyOf(ModelNames.Classifier);

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options(ModelNames.Classifier, ModelNames.Inverse)));

        Assert.Equal(ModelNames.Inverse, error.ModelName);
        Assert.Contains($"Model '{ModelNames.Inverse}' is not in the model repository", error.Message);
        Assert.Contains($"(it has: {ModelNames.Classifier})", error.Message);
    }

    [Fact]
    public void An_empty_repository_is_refused()
    {
        using var repo = TestModels.CopyOf();

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options()));

        Assert.Contains("holds no models", error.Message);
    }

    [Fact]
    public void A_corrupt_onnx_file_is_named()
    {
        using var repo = TestModels.CopyOf(ModelNames.Classifier);
        var path = repo.PathOf(ModelNames.Classifier, "1", "model.onnx");
        var bytes = File.ReadAllBytes(path);
        File.WriteAllBytes(path, bytes.AsSpan(0, bytes.Length / 3).ToArray()); // a truncated download

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options()));

        Assert.Equal(ModelNames.Classifier, error.ModelName);
        Assert.Contains($"Model '{ModelNames.Classifier}': '{path}' could not be loaded by ONNX Runtime", error.Message);
        Assert.Contains("corrupt", error.Message);
    }

    [Fact]
    public void A_model_folder_without_a_version_is_named()
    {
        using var repo = TestModels.CopyOf(ModelNames.Classifier);
        Directory.Delete(repo.PathOf(ModelNames.Classifier, "1"), recursive: true);

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options()));

        Assert.Contains($"Model '{ModelNames.Classifier}' has no '<version>/model.onnx'", error.Message);
    }

    [Fact]
    public void A_config_output_name_the_graph_lacks_is_a_mismatch()
    {
        using var repo = TestModels.CopyOf(ModelNames.Classifier);
        EditConfig(repo, ModelNames.Classifier, config => config["outputs"]![0]!["name"] = "logitz");

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options()));

        Assert.Equal(ModelNames.Classifier, error.ModelName);
        Assert.Contains("config.json does not match", error.Message);
        Assert.Contains("output 'logitz' is not in the graph (graph outputs: logits, features)", error.Message);
    }

    [Fact]
    public void Config_dims_the_graph_contradicts_are_a_mismatch()
    {
        using var repo = TestModels.CopyOf(ModelNames.Classifier);
        EditConfig(repo, ModelNames.Classifier, config => config["outputs"]![0]!["dims"] = new JsonArray(-1, 12));

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options()));

        Assert.Contains("output 'logits' has dims [-1,10] in the graph, config.json says [-1,12]", error.Message);
    }

    [Fact]
    public void A_config_whose_name_is_not_its_folder_is_invalid()
    {
        using var repo = TestModels.CopyOf(ModelNames.Classifier);
        EditConfig(repo, ModelNames.Classifier, config => config["name"] = "fmnist-other");

        var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(repo.Options()));

        Assert.Contains("name is 'fmnist-other' but the folder is 'fmnist-inn'", error.Message);
    }

    [Fact]
    public void Bad_options_are_refused_before_anything_loads()
    {
        var error = Assert.Throws<OptionsValidationException>(
            () => ModelRepository.Open(new InferenceOptions { ExecutionProvider = "tpu", MaxBatchSize = 0 }));

        Assert.Contains("AsymCdc:Inference:ExecutionProvider is 'tpu'; use 'cpu' or 'cuda'.", error.Failures);
        Assert.Contains("AsymCdc:Inference:MaxBatchSize is 0; it must be between 1 and 4096.", error.Failures);
    }

    [Fact]
    public async Task Cuda_loads_where_available_and_otherwise_fails_with_one_clear_message()
    {
        var options = TestModels.Options(ModelNames.Classifier);
        options.ExecutionProvider = "cuda";

        if (CudaRuntimePresent())
        {
            using var repository = ModelRepository.Open(options);
            Assert.Equal("cuda", repository.ExecutionProvider);
            var result = await repository.Get(ModelNames.Classifier).RunAsync(TestModels.Images.Image(0), 1);
            Assert.Equal(10, result[0].Length);
        }
        else
        {
            var error = Assert.Throws<ModelRepositoryException>(() => ModelRepository.Open(options));
            Assert.StartsWith("CUDA was requested (AsymCdc:Inference:ExecutionProvider=cuda, DeviceId=0) but is not available", error.Message);
            Assert.Contains("CUDA 13", error.Message);
            Assert.EndsWith("or set AsymCdc:Inference:ExecutionProvider=cpu.", error.Message);
        }
    }

    /// <summary>ONNX Runtime 1.31's CUDA execution provider links the CUDA 13 runtime and needs a driver.</summary>
    private static bool CudaRuntimePresent()
    {
        foreach (var library in new[] { "libcudart.so.13", "libcublasLt.so.13", "libcuda.so.1" })
        {
            if (!NativeLibrary.TryLoad(library, out var handle))
            {
                return false;
            }

            NativeLibrary.Free(handle);
        }

        return true;
    }

    private static void EditConfig(TempRepository repo, string model, Action<JsonNode> edit)
    {
        var path = repo.PathOf(model, "config.json");
        var config = JsonNode.Parse(File.ReadAllText(path))!;
        edit(config);
        File.WriteAllText(path, config.ToJsonString());
    }
}
