namespace AsymCdc.Inference.Data;

/// <summary>
/// A served model's test split, from its config's <c>dataset</c>: <c>fmnist</c> (the Fashion-MNIST test set shipped in
/// <c>models/data</c>), <c>digits</c> (<c>&lt;repository&gt;/data/digits</c>, written by <c>models/train-user-models.sh</c>)
/// or a folder holding <c>test.json</c> in the tensor-dataset format, relative to the repository or absolute. What
/// <c>eval</c>, <c>bench</c> and <c>demo</c> send a model.
/// </summary>
public static class TestSets
{
    public const string FashionMnistName = "fmnist";
    public const string DigitsName = "digits";
    public const string TestHeader = "test.json";

    /// <summary>The folder, under a model repository, that holds the digits split.</summary>
    public static readonly string DigitsFolder = Path.Combine("data", "digits");

    /// <summary>Loads <paramref name="dataset"/>'s test split; throws <see cref="InvalidDataException"/> naming what is
    /// missing or unreadable.</summary>
    public static LabeledSet Load(string dataset, string repository)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(dataset);
        ArgumentNullException.ThrowIfNull(repository);
        if (dataset == FashionMnistName)
        {
            return LabeledSet.From(FashionMnist.LoadTestSet(), "fmnist/test");
        }

        var folder = dataset == DigitsName ? FindDigits(repository) : Path.Combine(repository, dataset);
        var header = Path.Combine(folder, TestHeader);
        if (!File.Exists(header))
        {
            throw new InvalidDataException(
                $"dataset '{dataset}': '{header}' does not exist; a model's dataset is fmnist, digits or a folder holding {TestHeader} (models/data/README.md)");
        }

        return TensorDataset.Load(header);
    }

    /// <summary>The repository's own data/digits, else the nearest <c>models/data/digits</c> (a temporary repository in a
    /// test holds only models).</summary>
    public static string FindDigits(string repository)
    {
        var own = Path.Combine(repository, DigitsFolder);
        if (File.Exists(Path.Combine(own, TestHeader)))
        {
            return own;
        }

        foreach (var root in ModelRepositoryLocator.SearchRoots())
        {
            var candidate = Path.Combine(root, ModelRepositoryLocator.FolderName, DigitsFolder);
            if (File.Exists(Path.Combine(candidate, TestHeader)))
            {
                return candidate;
            }
        }

        throw new DirectoryNotFoundException(
            $"the digits split is not in '{own}' nor in any models/{DigitsFolder.Replace('\\', '/')} above the working directory; run models/train-user-models.sh to write it.");
    }
}
