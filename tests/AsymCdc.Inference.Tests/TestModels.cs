using AsymCdc.Inference.Data;

namespace AsymCdc.Inference.Tests;

/// <summary>Where the tests find the real model repository and test set.</summary>
internal static class TestModels
{
    /// <summary>The repository's <c>models/</c> folder; ASYMCDC_MODELS points the suite at another
    /// repository of the same layout (e.g. a freshly trained one).</summary>
    public static string Directory =>
        Environment.GetEnvironmentVariable("ASYMCDC_MODELS") is { Length: > 0 } dir ? dir : ModelRepositoryLocator.Find();

    /// <summary>Models that are not ours (issue 25): the stand-in user classifiers of models/train-user-models.sh and the
    /// decoders <c>asymcdc train-decoders</c> trained for them.</summary>
    public static readonly string[] UserModels =
    [
        "fmnist-cnn",
        "fmnist-cnn-compact-k2",
        "fmnist-cnn-compact-k3",
        "fmnist-cnn-compact-k4",
        "fmnist-cnn-parm-k2",
        "digits-mlp",
        "digits-mlp-compact-k2",
    ];

    /// <summary>Every model of the repository (UserModels is declared first: static fields initialise in order).</summary>
    public static readonly string[] All =
    [
        ModelNames.Classifier,
        ModelNames.Inverse,
        ModelNames.Compact(2),
        ModelNames.Compact(3),
        ModelNames.Compact(4),
        ModelNames.Parm(2),
        ModelNames.Parm(4),
        .. UserModels,
    ];

    private static readonly Lazy<FashionMnistSet> TestSet = new(() => FashionMnist.LoadTestSet());

    public static FashionMnistSet Images => TestSet.Value;

    public static InferenceOptions Options(params string[] models) => new()
    {
        ModelRepository = Directory,
        Models = [.. models],
    };

    /// <summary>Runs <paramref name="count"/> items in calls of at most 128 (below every model's
    /// max_batch_size) and concatenates the outputs.</summary>
    public static async Task<float[][]> RunAllAsync(AsymCdc.Coding.IModelFunction function, ReadOnlyMemory<float> inputs, int count)
    {
        const int chunk = 128;
        var outputs = new float[function.OutputLengths.Count][];
        for (var o = 0; o < outputs.Length; o++)
        {
            outputs[o] = new float[count * function.OutputLengths[o]];
        }

        for (var start = 0; start < count; start += chunk)
        {
            var n = Math.Min(chunk, count - start);
            var part = await function.RunAsync(inputs.Slice(start * function.InputLength, n * function.InputLength), n);
            for (var o = 0; o < outputs.Length; o++)
            {
                part[o].CopyTo(outputs[o], start * function.OutputLengths[o]);
            }
        }

        return outputs;
    }

    public static int ArgMax(ReadOnlySpan<float> logits)
    {
        var best = 0;
        for (var i = 1; i < logits.Length; i++)
        {
            if (logits[i] > logits[best])
            {
                best = i;
            }
        }

        return best;
    }

    /// <summary>A temporary model repository holding copies of <paramref name="models"/>, to break.</summary>
    public static TempRepository CopyOf(params string[] models)
    {
        var root = System.IO.Directory.CreateTempSubdirectory("asymcdc-models-").FullName;
        foreach (var model in models)
        {
            CopyDirectory(Path.Combine(Directory, model), Path.Combine(root, model));
        }

        return new TempRepository(root);
    }

    private static void CopyDirectory(string from, string to)
    {
        System.IO.Directory.CreateDirectory(to);
        foreach (var file in System.IO.Directory.EnumerateFiles(from))
        {
            File.Copy(file, Path.Combine(to, Path.GetFileName(file)));
        }

        foreach (var dir in System.IO.Directory.EnumerateDirectories(from))
        {
            CopyDirectory(dir, Path.Combine(to, Path.GetFileName(dir)));
        }
    }
}

internal sealed class TempRepository(string root) : IDisposable
{
    public string Root { get; } = root;

    public string PathOf(params string[] parts) => Path.Combine([Root, .. parts]);

    public InferenceOptions Options(params string[] models) => new() { ModelRepository = Root, Models = [.. models] };

    public void Dispose() => System.IO.Directory.Delete(Root, recursive: true);
}

/// <summary>One repository of every model, shared by the tests of a collection (loading costs ~1 s).</summary>
public sealed class RepositoryFixture : IDisposable
{
    public RepositoryFixture()
    {
        Repository = ModelRepository.Open(TestModels.Options());
    }

    public ModelRepository Repository { get; }

    public void Dispose() => Repository.Dispose();
}

[CollectionDefinition(Name)]
public sealed class RepositoryCollection : ICollectionFixture<RepositoryFixture>
{
    public const string Name = "model repository";
}
